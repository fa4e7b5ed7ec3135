import { describe, expect, it } from 'vitest';
import { parseCommandLine, type CommandLine } from '../../source/commands/args.js';
import { ExitCode, isDoctorError, type ErrorInfo } from '../../source/engine/errors.js';

const azure = ['--subscription', 'sub-1', '--resource-group', 'rg', '--workspace', 'ws'];

function usageErrorOf(argv: string[]): ErrorInfo {
  try {
    parseCommandLine(argv);
  } catch (error) {
    if (isDoctorError(error)) return error.info;
    throw error;
  }
  throw new Error(`no usage error for ${argv.join(' ')}`);
}

function session(argv: string[]): Extract<CommandLine, { kind: 'session' }> {
  const line = parseCommandLine(argv);
  if (line.kind !== 'session') throw new Error(`not a session: ${line.kind}`);

  return line;
}

describe('command line', () => {
  it('runs fix against the sandbox by default, with the default state folder', () => {
    const line = session(['--sandbox']);

    expect(line.command).toBe('fix');
    expect(line.flags).toMatchObject({
      isSandbox: true, isAutoApproved: false, isJson: false, stateDir: './.shir-doctor',
    });
    expect(line.flags.target).toEqual({});
  });

  it('reads every sandbox and behaviour flag', () => {
    const line = session([
      'fix', '--sandbox', '--sandbox-reset', '--scenario', 'F07', '--time-scale', '0', '-y',
      '--json', '--state-dir', '/tmp/x', '--api-url', 'https://api.example/v1',
    ]);

    expect(line.flags).toMatchObject({
      isSandboxReset: true, scenario: 'F07', timeScale: 0, isAutoApproved: true, isJson: true,
      stateDir: '/tmp/x', target: { apiUrl: 'https://api.example/v1' },
    });
  });

  it('builds the Azure target from the three target flags', () => {
    const line = session(['verify', ...azure, '--vm-name', 'vm1', '--proxy', 'http://p:3128']);

    expect(line.command).toBe('verify');
    expect(line.flags.target).toEqual({
      subscriptionId: 'sub-1', resourceGroup: 'rg', workspaceName: 'ws', vmName: 'vm1',
      proxyUrl: 'http://p:3128',
    });
  });

  it('takes rollback options only with rollback', () => {
    const line = session(['rollback', ...azure, '--session', 's1', '--delete-created']);

    expect(line.flags).toMatchObject({ sessionId: 's1', isDeleteCreated: true });
    expect(usageErrorOf(['fix', ...azure, '--session', 's1']).what).toContain('--session');
  });

  it('names the missing target flags in Azure mode', () => {
    const info = usageErrorOf(['fix', '--subscription', 'sub-1']);

    expect(info.exitCode).toBe(ExitCode.usage);
    expect(info.what).toContain('--resource-group');
    expect(info.what).toContain('--workspace');
    expect(info.what).not.toContain('--subscription');
    expect(info.fix).toContain('--sandbox');
  });

  it('names an unknown flag, a flag without value and an unknown command', () => {
    expect(usageErrorOf(['--sandbox', '--frobnicate']).what).toContain('--frobnicate');
    expect(usageErrorOf(['--sandbox', '--scenario']).what).toContain('--scenario');
    expect(usageErrorOf(['repair', '--sandbox']).fix).toContain('verify');
  });

  it('rejects sandbox-only flags without --sandbox and a bad time scale', () => {
    expect(usageErrorOf([...azure, '--time-scale', '0']).fix).toContain('--sandbox');
    expect(usageErrorOf(['--sandbox', '--time-scale', 'fast']).what).toContain('--time-scale');
    expect(usageErrorOf(['--sandbox', '--time-scale', '-1']).exitCode).toBe(ExitCode.usage);
    expect(usageErrorOf(['--sandbox', '--time-scale', '-1']).what).toBe(
      '--time-scale has no value: what follows it starts with "-".');
    expect(usageErrorOf(['--sandbox', '--time-scale=-1']).what).toContain('0 or more');
  });

  it('takes --request-log with --sandbox (and sandbox serve) only', () => {
    expect(session(['--sandbox', '--request-log', '/tmp/r.jsonl']).flags.requestLog)
      .toBe('/tmp/r.jsonl');
    expect(parseCommandLine(['sandbox', 'serve', '--request-log', '/tmp/r.jsonl']))
      .toMatchObject({ kind: 'serve', flags: { requestLog: '/tmp/r.jsonl' } });
    const error = usageErrorOf([...azure, '--request-log', '/tmp/r.jsonl']);
    expect(error.exitCode).toBe(ExitCode.usage);
    expect(error.what).toBe('--request-log works only with the sandbox.');
  });

  it('refuses an --api-url or --proxy that is not an http(s) URL, before any session', () => {
    for (const flag of ['--api-url', '--proxy']) {
      for (const value of ['notaurl', 'ftp://host/x', 'http://']) {
        const error = usageErrorOf([...azure, flag, value]);
        expect(error.exitCode).toBe(ExitCode.usage);
        expect(error.what).toContain(flag);
      }
    }
    const withPassword = usageErrorOf(['--sandbox', '--proxy', 'socks5://u:Secr3t@proxy']);
    expect(JSON.stringify(withPassword)).not.toContain('Secr3t');
    const line = session([...azure, '--api-url', 'https://api.example/v1',
      '--proxy', 'http://u:p@127.0.0.1:3128']);
    expect(line.flags.target).toMatchObject({ apiUrl: 'https://api.example/v1' });
  });

  it('refuses flags sandbox serve would ignore', () => {
    for (const flag of [['--yes'], ['--json'], ['--workspace', 'w'], ['--session', 's']]) {
      const error = usageErrorOf(['sandbox', 'serve', ...flag]);
      expect(error.exitCode).toBe(ExitCode.usage);
      expect(error.what).toContain(flag[0]);
    }
    expect(parseCommandLine(['sandbox', 'serve', '--sandbox', '--time-scale', '0']).kind)
      .toBe('serve');
  });

  it('refuses --secrets-file with --sandbox instead of ignoring it', () => {
    const error = usageErrorOf(['--sandbox', '--secrets-file', 'secrets.json']);
    expect(error.exitCode).toBe(ExitCode.usage);
    expect(error.what).toContain('--secrets-file');
    expect(session([...azure, '--secrets-file', 'secrets.json']).flags.secretsFile)
      .toBe('secrets.json');
  });

  it('parses sandbox serve, help and version', () => {
    expect(parseCommandLine(['sandbox', 'serve', '--scenario', 'F01.json'])).toEqual({
      kind: 'serve',
      flags: {
        stateDir: './.shir-doctor', scenario: 'F01.json', isSandboxReset: false,
        timeScale: undefined,
      },
    });
    expect(usageErrorOf(['sandbox']).fix).toContain('sandbox serve');
    expect(parseCommandLine(['--help']).kind).toBe('help');
    expect(parseCommandLine(['--version']).kind).toBe('version');
  });
});
