import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AUTH_KEY_PATTERN } from '../../source/wire/guest.js';
import { startSandbox } from '../../source/sandbox/index.js';
import { loadScenario, SCENARIO_DIR } from '../../source/sandbox/scenario.js';
import { World } from '../../source/sandbox/world.js';
import { clients, fast, ids, tempState } from './helpers.js';

describe('persisted world', () => {
  it('continues where the last start left off, and reset reloads the scenario', async () => {
    const stateDir = tempState();
    const first = await startSandbox({ stateDir, timeScale: 0 });
    const { rg, ws } = { rg: first.target.resourceGroup, ws: first.target.workspaceName };
    await clients(first).synapse.integrationRuntimes.beginCreateAndWait(rg, ws, 'ir-kept',
      { properties: { type: 'SelfHosted' } }, fast);
    await clients(first).synapse.integrationRuntimeAuthKeysOperations.list(rg, ws, 'ir-kept');
    const firstCert = first.caPem;
    await first.close();

    const worldFile = readFileSync(join(stateDir, 'world.json'), 'utf8');
    expect(worldFile).toContain('ir-kept');
    expect(worldFile).not.toMatch(AUTH_KEY_PATTERN);

    const second = await startSandbox({ stateDir, timeScale: 0 });
    expect(second.caPem).toBe(firstCert);
    const c2 = clients(second);
    expect((await c2.synapse.integrationRuntimes.get(rg, ws, 'ir-kept')).name).toBe('ir-kept');
    const w = await c2.synapse.workspaces.get(rg, ws);
    expect(w.connectivityEndpoints?.dev).toBe(`${second.endpoint}/dev/${ws}`);
    await second.close();

    const third = await startSandbox({ stateDir, timeScale: 0, reset: true });
    await expect(clients(third).synapse.integrationRuntimes.get(rg, ws, 'ir-kept'))
      .rejects.toMatchObject({ statusCode: 404 });
    expect(third.peek(ids(third).ir('AutoResolveIntegrationRuntime'))).toBeTruthy();
    await third.close();
  });

  it('a start without a scenario keeps (or on reset restarts) the saved one', async () => {
    const stateDir = tempState();
    const file = join(stateDir, 'custom.json');
    writeFileSync(file, JSON.stringify({ id: 'X-kept', extends: 'F01', description: 'kept',
      target: { ...loadScenario('F01').target, workspaceName: 'syn-kept' } }));
    const first = await startSandbox({ stateDir, timeScale: 0, scenario: file });
    expect(first.target.workspaceName).toBe('syn-kept');
    await first.close();

    const second = await startSandbox({ stateDir, timeScale: 0 });
    expect(second.target.workspaceName).toBe('syn-kept');
    await second.close();

    const third = await startSandbox({ stateDir, timeScale: 0, reset: true });
    expect(third.target.workspaceName).toBe('syn-kept');
    await third.close();

    const fourth = await startSandbox({ stateDir, timeScale: 0, reset: true, scenario: 'F01' });
    expect(fourth.target.workspaceName).toBe(loadScenario('F01').target.workspaceName);
    await fourth.close();
  });

  it('refuses a saved world it cannot read and leaves it; reset replaces it', async () => {
    const stateDir = tempState();
    const file = join(stateDir, 'world.json');
    writeFileSync(file, '{"version": 1, "scenario": {"id": "F01"');

    await expect(startSandbox({ stateDir, timeScale: 0 }))
      .rejects.toMatchObject({ name: 'SandboxStateError' });
    expect(readFileSync(file, 'utf8')).toBe('{"version": 1, "scenario": {"id": "F01"');
    writeFileSync(file, JSON.stringify({ version: 0 }));
    await expect(startSandbox({ stateDir, timeScale: 0, scenario: 'F01' }))
      .rejects.toMatchObject({ name: 'SandboxStateError' });

    const reset = await startSandbox({ stateDir, timeScale: 0, reset: true });
    await reset.close();
    expect(JSON.parse(readFileSync(file, 'utf8')).version).toBe(1);
  });

  it('loads every built-in scenario and starts on it', async () => {
    const files = readdirSync(SCENARIO_DIR).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(20);
    for (let n = 1; n <= 20; n++) {
      expect(files).toContain(`F${String(n).padStart(2, '0')}.json`);
    }
    for (const file of files) {
      const id = file.replace(/\.json$/, '');
      const scenario = loadScenario(id);
      expect(scenario.id).toBe(id);
      expect(scenario.description).toBeTruthy();
      expect(JSON.stringify(scenario)).not.toMatch(/\{(subscriptionId|workspaceName)\}/);
      const world = new World(tempState(), scenario, true);
      expect(world.get(`/subscriptions/${scenario.target.subscriptionId}/resourceGroups/` +
        `${scenario.target.resourceGroup}/providers/Microsoft.Synapse/workspaces/` +
        `${scenario.target.workspaceName}`)).toBeTruthy();
    }
    expect(loadScenario('f10B').newVmGuest?.msiBusyTimes).toBe(99);
    expect(loadScenario('F11b').newVmGuest?.serviceFailsToStart).toBe(true);
    const sb = await startSandbox({ stateDir: tempState(), scenario: 'F07', timeScale: 0 });
    const c = clients(sb);
    const status = await c.synapse.integrationRuntimeStatusOperations.get(
      sb.target.resourceGroup, sb.target.workspaceName, 'shir-etl');
    expect(status.properties.state).toBe('Limited');
    await sb.close();
  });

  it('exposes the admin secrets keyed by linked service and pointer', async () => {
    const sb = await startSandbox({ stateDir: tempState(), timeScale: 0 });
    expect(sb.adminSecrets['RestService:/typeProperties/authHeaders/x-api-key'])
      .toBe('pk-demo-5f1e0c9b7a3d42e8b6c1');
    expect(sb.adminSecrets['PartnerFiles:/typeProperties/password']).toBe('Partner-Files-Pa55!');
    await sb.close();
  });
});

describe('operation bookkeeping', () => {
  it('forgets the oldest finished operations so the world file stays small', async () => {
    const { Operations } = await import('../../source/sandbox/operations.js');
    const world = new World(tempState(), loadScenario('F01'), true);
    const ops = new Operations(world, 0);
    const first = ops.start({ subscriptionId: 's', provider: 'p', durationMs: 0,
      effect: { kind: 'none' } });
    for (let n = 0; n < 320; n++) {
      ops.start({ subscriptionId: 's', provider: 'p', durationMs: 0, effect: { kind: 'none' } });
    }
    ops.settle();
    ops.settle();
    expect(Object.keys(world.state.operations).length).toBe(300);
    expect(world.state.operations[first.id]).toBeUndefined();
  });
});

describe('scenario files', () => {
  it('extends a scenario given by a path relative to the file', () => {
    const dir = tempState();
    writeFileSync(join(dir, 'base.json'), JSON.stringify({ id: 'T-base', extends: 'F01',
      network: { proxyRequired: true } }));
    writeFileSync(join(dir, 'child.json'), JSON.stringify({ id: 'T-child',
      extends: './base.json', newVmGuest: { image: 'legacy' } }));
    const s = loadScenario(join(dir, 'child.json'));
    expect(s.id).toBe('T-child');
    expect(s.network?.proxyRequired).toBe(true);
    expect(s.newVmGuest?.image).toBe('legacy');
    expect(s.workspaces?.[s.target.workspaceName]?.linkedServices?.map((l) => l.name))
      .toContain('RestService');
  });
});

describe('scenarios/README.md', () => {
  it('lists every scenario file with its description', () => {
    const readme = readFileSync(join(SCENARIO_DIR, 'README.md'), 'utf8');
    for (const file of readdirSync(SCENARIO_DIR).filter((f) => f.endsWith('.json'))) {
      const scenario = loadScenario(file.replace(/\.json$/, ''));
      expect(readme).toContain(`| ${scenario.id} |`);
      expect(readme).toContain(scenario.description);
    }
  });
});
