import { connect } from 'node:net';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SessionFlags } from '../../source/commands/args.js';
import { DEFAULT_STATE_DIR } from '../../source/commands/args.js';
import {
  rerunSpelling,
  sessionOptions,
  startEmulator,
  withTarget,
  type CommandContext,
  type OpenedTarget,
} from '../../source/commands/context.js';
import type { DoctorError } from '../../source/engine/errors.js';
import { createPlainPresenter } from '../../source/ui/plain.js';

async function contextFor(flags: Partial<SessionFlags>, env = {}): Promise<CommandContext> {
  const stateDir = await mkdtemp(join(tmpdir(), 'shir-context-'));
  const sink = { write: () => true };

  return {
    command: 'fix',
    flags: {
      isSandbox: false, isSandboxReset: false, isAutoApproved: false, isJson: false,
      isDeleteCreated: false, target: {}, stateDir, ...flags,
    },
    ui: createPlainPresenter({ command: 'fix', sink, isAutoApproved: false }),
    signal: new AbortController().signal,
    isInteractive: false,
    env,
  };
}

function isListening(endpoint: string): Promise<boolean> {
  const { hostname, port } = new URL(endpoint);

  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('opening the target', () => {
  it('starts the sandbox as a plain connection and closes it even when work fails', async () => {
    const context = await contextFor({
      isSandbox: true, isSandboxReset: true, timeScale: 0, target: { vmName: 'vm-x' },
    });
    let opened: OpenedTarget | undefined;
    let wasListening = false;

    const run = withTarget(context, async (target) => {
      opened = target;
      wasListening = await isListening((target.connection as { endpoint: string }).endpoint);
      throw new Error('work failed');
    });

    await expect(run).rejects.toThrow('work failed');
    expect(opened?.mode).toBe('sandbox');
    expect(opened?.connection).toMatchObject({
      kind: 'sandbox', endpoint: expect.stringMatching(/^https:\/\/127\.0\.0\.1:\d+$/),
    });
    expect(opened?.target).toMatchObject({ workspaceName: expect.any(String), vmName: 'vm-x' });
    expect(wasListening).toBe(true);
    expect(await isListening((opened!.connection as { endpoint: string }).endpoint)).toBe(false);
  });

  it('answers masked secrets from the sandbox as the admin would', async () => {
    const context = await contextFor({ isSandbox: true, isSandboxReset: true, timeScale: 0 });

    const value = await withTarget(context, (target) =>
      target.secrets.resolve('RestService:/typeProperties/authHeaders/x-api-key'));

    expect(typeof value).toBe('string');
    expect(value).not.toBe('**********');
  });

  it('builds session options from the flags, with emulator-sized waits', async () => {
    const sandbox = await contextFor({ isSandbox: true, timeScale: 0, isAutoApproved: true });
    const options = await withTarget(sandbox, async (target) => sessionOptions(sandbox, target));

    expect(options).toMatchObject({
      isAutoApproved: true, stateDir: sandbox.flags.stateDir, connection: { kind: 'sandbox' },
    });
    expect(options.tuning?.onlineDeadlineMs).toBeLessThan(10_000);
  });

  it('uses the Azure target as given, contacts nothing, and reads secrets from env', async () => {
    const target = { subscriptionId: 's', resourceGroup: 'rg', workspaceName: 'ws' };
    const env = { SHIR_DOCTOR_SECRET_RESTSERVICE_PASSWORD: 'env-secret-value' };
    const context = await contextFor({ target }, env);

    const result = await withTarget(context, async (opened) => ({
      opened,
      secret: await opened.secrets.resolve('RestService:/typeProperties/password'),
      options: sessionOptions(context, opened),
    }));

    expect(result.opened.connection).toEqual({ kind: 'azure' });
    expect(result.opened.target).toEqual(target);
    expect(result.secret).toBe('env-secret-value');
    expect(result.options.tuning).toBeUndefined();
  });
});

describe('the next commands a summary suggests', () => {
  const base: SessionFlags = { isSandbox: false, isSandboxReset: false, isAutoApproved: false,
    isJson: false, isDeleteCreated: false, target: {}, stateDir: DEFAULT_STATE_DIR };

  it('after npm start: node dist/cli.js and --sandbox, so the pasted verify stays local', () => {
    const rerun = rerunSpelling({ ...base, isSandbox: true, isSandboxReset: true,
      isAutoApproved: true, scenario: 'F17' }, '/src/shir/dist/cli.js', '/src/shir');

    expect(rerun).toEqual({ program: 'node dist/cli.js', flags: ['--sandbox'] });
  });

  it('against Azure: the whole target, quoted, a state folder, never a proxy password', () => {
    const target = { subscriptionId: 's-1', resourceGroup: 'rg one', workspaceName: "w's",
      proxyUrl: 'http://user:pw@proxy.local:3128' };
    const rerun = rerunSpelling({ ...base, target, stateDir: '/var/lib/sd' },
      '/usr/local/bin/shir-doctor', '/home/admin');

    expect(rerun.program).toBe('shir-doctor');
    expect(rerun.flags).toEqual(['--subscription s-1', "--resource-group 'rg one'",
      "--workspace 'w'\\''s'", '--state-dir /var/lib/sd']);
    expect(rerun.flags.join(' ')).not.toContain('pw');
  });

  it('never an --api-url password', () => {
    const target = { apiUrl: 'https://user:ApiPw9@api.example/v1' };
    const rerun = rerunSpelling({ ...base, isSandbox: true, target }, 'dist/cli.js', '.');

    expect(rerun.flags.join(' ')).not.toContain('ApiPw9');
  });
});

describe('bad --state-dir and --scenario are usage errors (exit 2) naming the flag', () => {
  it('a --state-dir that is a file stops before the target is opened', async () => {
    const context = await contextFor({ target: { subscriptionId: 's', resourceGroup: 'r',
      workspaceName: 'w' } });
    const file = join(context.flags.stateDir, 'a-file');
    await writeFile(file, 'not a folder');
    context.flags.stateDir = file;
    let isOpened = false;

    const error = await withTarget(context, async () => { isOpened = true; })
      .catch((caught: unknown) => caught);

    expect(isOpened).toBe(false);
    expect((error as DoctorError).info).toMatchObject({ code: 'state-dir-unusable',
      exitCode: 2 });
    expect((error as DoctorError).info.what).toContain('--state-dir');
  });

  it.each([
    ['malformed JSON', '{bad', /not valid JSON/],
    ['an array', '[]', /must be a JSON object/],
    ['no identity', JSON.stringify({ id: 'X', target: {} }), /identity\.tenantId/],
    ['resources not an array', JSON.stringify({ id: 'X', extends: 'F01', resources: {} }),
      /resources/],
    ['an artifact without properties', JSON.stringify({ id: 'X', extends: 'F01',
      workspaces: { ws: { linkedServices: [{ name: 'A' }] } } }), /linkedServices/],
  ])('a scenario file with %s', async (_, text, why) => {
    const stateDir = await mkdtemp(join(tmpdir(), 'shir-context-'));
    const scenario = join(stateDir, 'scenario.json');
    await writeFile(scenario, text);

    const error = await startEmulator({ stateDir, scenario, isSandboxReset: true, timeScale: 0 })
      .catch((caught: unknown) => caught);

    const { info } = error as DoctorError;
    expect(info).toMatchObject({ code: 'scenario-invalid', exitCode: 2 });
    expect(info.why).toMatch(why);
    expect(info.fix).toContain('--scenario');
  });

  it('an unreadable saved world: exit 2 naming --sandbox-reset', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'shir-context-'));
    await mkdir(join(stateDir, 'sandbox'));
    await writeFile(join(stateDir, 'sandbox', 'world.json'), '{torn');

    const error = await startEmulator({ stateDir, isSandboxReset: false })
      .catch((caught: unknown) => caught);

    const { info } = error as DoctorError;
    expect(info).toMatchObject({ code: 'sandbox-state-unreadable', exitCode: 2 });
    expect(info.fix).toContain('--sandbox-reset');
  });

  it('a missing scenario file', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'shir-context-'));

    const error = await startEmulator({ stateDir, scenario: join(stateDir, 'none.json'),
      isSandboxReset: true }).catch((caught: unknown) => caught);

    expect((error as DoctorError).info).toMatchObject({ code: 'scenario-invalid',
      exitCode: 2 });
  });
});
