/**
 * Field scenarios about the host, the install and the registration: F06 (a VM that already
 * hosts another runtime), F07 (blocked relay), F09 (TLS 1.2), F10 (msiexec 1618), F11 (exit 0
 * but no Online node), F14 (a stale node of a rebuilt VM), F15 (4 nodes), F17 (a VM without
 * egress) and F19 (a proxy).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import {
  eventText,
  filesUnder,
  findings,
  guestState,
  planItems,
  recordingUI,
  run,
  runtimeState,
  startedSteps,
  startScenario,
  stored,
  writes,
  type LoggedRequest,
  type ScenarioBox,
} from './harness.js';

let box: ScenarioBox | undefined;

afterEach(async () => {
  await box?.cleanup();
  box = undefined;
});

const INSTALL = /\/runCommands\/shir-doctor-install$/;
const PROBE = /\/runCommands\/shir-doctor-probe$/;

function puts(scenario: ScenarioBox, path: RegExp): LoggedRequest[] {
  return scenario.requests().filter((request) => request.method === 'PUT' &&
    path.test(request.path));
}

function linkedServicesUntouched(scenario: ScenarioBox): void {
  for (const name of ['RestService', 'PartnerFiles']) {
    expect(stored(scenario, 'linkedservices', name).connectVia.referenceName)
      .toBe('AutoResolveIntegrationRuntime');
  }
}

/** The plain (not protected) parameters of a run command PUT, by name. */
function parametersOf(request: LoggedRequest | undefined): Record<string, string> {
  const list = (request?.request as any)?.properties?.parameters ?? [];
  return Object.fromEntries(list.map((item: any) => [item.name, item.value]));
}

describe('F06: the chosen VM already hosts a runtime registered elsewhere', () => {
  it('does not install a second one and offers another VM or a new one', async () => {
    box = await startScenario('F06');

    const result = await run(box, 'fix', box.options({}, { vmName: 'vm-etl-01' }));

    expect(result.exitCode).toBe(4);
    expect(result.summary.error?.code).toBe('vm-hosts-other-runtime');
    expect(result.summary.error?.what).toContain('ir-dev-selfhosted');
    expect(result.summary.error?.fix).toMatch(/another VM with --vm-name/);
    expect(result.summary.error?.fix).toMatch(/create one/);
    expect(puts(box, INSTALL)).toEqual([]);
    expect(guestState(box, 'vm-etl-01').runtime.registeredTo)
      .toBe('syn-contoso-dev/ir-dev-selfhosted');
    linkedServicesUntouched(box);
  });
  it('taking the offer of a new VM resumes, keeps its runtime and leaves the old VM alone',
    async () => {
      box = await startScenario('F06');
      await run(box, 'fix', box.options({}, { vmName: 'vm-etl-01' }));

      const rerun = await run(box, 'fix');

      expect(rerun.summary.error).toBeUndefined();
      expect(rerun.exitCode).toBe(0);
      const started = rerun.ui.events.find((event) => event.type === 'session.started');
      expect(started?.type === 'session.started' && started.isResumed).toBe(true);
      expect(puts(box, /\/integrationRuntimes\/shir-doctor-ir$/)).toHaveLength(1);
      expect(puts(box, INSTALL).map((request) => request.path).join())
        .not.toContain('/vm-etl-01/');
      expect(guestState(box, 'vm-etl-01').runtime.registeredTo)
        .toBe('syn-contoso-dev/ir-dev-selfhosted');
      expect(stored(box, 'linkedservices', 'RestService').connectVia.referenceName)
        .toBe('shir-doctor-ir');
    });
});

describe('F07: a Limited runtime whose node cannot reach the relay', () => {
  it('diagnoses blocked *.servicebus.windows.net, probes from the VM and names the host',
    async () => {
      box = await startScenario('F07');

      const result = await run(box, 'fix');

      const ids = findings(result.ui).map((item) => item.id);
      expect(ids).toContain('runtime.node-service-bus-blocked');
      expect(result.exitCode).toBe(4);
      expect(result.summary.error?.what).toMatch(
        /VM vm-shir-01 cannot reach [\w.-]+\.servicebus\.windows\.net:443/);
      expect(result.summary.error?.why)
        .toMatch(/servicebus\.windows\.net port=443 result=tcp-failed/);
      expect(puts(box, PROBE).map((request) => request.path).join())
        .toContain('/virtualMachines/vm-shir-01/');
      expect(puts(box, INSTALL)).toEqual([]);
      linkedServicesUntouched(box);
    });
});

describe('F09: an old image that negotiates TLS 1.2 only when forced', () => {
  it('installs because the script forces TLS 1.2', async () => {
    box = await startScenario('F09');

    const result = await run(box, 'fix');

    expect(result.summary.error).toBeUndefined();
    expect(result.exitCode).toBe(0);
    const script = (puts(box, INSTALL)[0]?.request as any).properties.source.script as string;
    expect(script).toMatch(/SecurityProtocolType\]::Tls12/);
  });

  it('the emulator\'s guest fails the download when the script does not force it', async () => {
    const scripts = mkdtempSync(join(tmpdir(), 'shir-scripts-'));
    cpSync(join(import.meta.dirname, '..', '..', 'scripts'), scripts, { recursive: true });
    const path = join(scripts, 'install-shir.ps1');
    writeFileSync(path, readFileSync(path, 'utf8').split('\n')
      .filter((line) => !line.includes('Tls12')).join('\n'));
    box = await startScenario('F09');

    const options = box.options();
    options.tuning = { ...options.tuning, scriptsDir: scripts };
    const result = await run(box, 'fix', options);
    rmSync(scripts, { recursive: true, force: true });

    expect(result.exitCode).toBe(5);
    expect(result.summary.error?.code).toBe('install-download-failed');
    expect(result.summary.error?.why).toMatch(/reason=tls/);
    linkedServicesUntouched(box);
  });
});

describe('F10: msiexec 1618, another installation in progress', () => {
  it('retries and succeeds when the first attempt meets 1618', async () => {
    box = await startScenario('F10');

    const result = await run(box, 'fix');

    expect(result.summary.error).toBeUndefined();
    expect(result.exitCode).toBe(0);
    expect(puts(box, INSTALL)).toHaveLength(2);
    expect(result.ui.events.some((event) => event.type === 'step.progress' &&
      /1618.*retrying/.test(event.message))).toBe(true);
    expect(runtimeState(box, 'shir-doctor-ir').nodes[0].status).toBe('Online');
  });

  it('stops after repeated 1618 with the exit code and its meaning (F10b)', async () => {
    box = await startScenario('F10b');

    const result = await run(box, 'fix');

    expect(result.exitCode).toBe(5);
    expect(result.summary.error?.code).toBe('msi-1618');
    expect(result.summary.error?.what).toMatch(
      /exit code 1618 \(another installation is already in progress\) after 4 attempts/);
    expect(puts(box, INSTALL)).toHaveLength(4);
    linkedServicesUntouched(box);
  });
});

describe('F11: the script exits 0 but the node never comes Online', () => {
  it('waits to the deadline, then reports the node state and the script output', async () => {
    box = await startScenario('F11');

    const result = await run(box, 'fix');

    expect(result.exitCode).toBe(5);
    const error = result.summary.error;
    expect(error?.code).toBe('node-not-online');
    expect(error?.what).toMatch(/did not come Online within 2 s/);
    expect(error?.what).toContain('NeedRegistration');
    expect(error?.why).toMatch(/install script output/);
    expect(error?.why).toContain('stage=done status=ok');
    expect(startedSteps(result.ui)).not.toContain('rewire');
    linkedServicesUntouched(box);
  });

  it('a service that never starts is named, not hidden behind the exit code (F11b)', async () => {
    box = await startScenario('F11b');

    const result = await run(box, 'fix');

    expect(result.exitCode).toBe(5);
    expect(result.summary.error?.code).toBe('install-service-not-running');
    expect(result.summary.error?.what).toContain('DIAHostService');
    linkedServicesUntouched(box);
  });
});

describe('F14: a rebuilt VM whose old node is still listed Offline', () => {
  it('removes the stale node, with the plan\'s approval, before registering again', async () => {
    box = await startScenario('F14');

    const result = await run(box, 'fix');

    expect(result.summary.error).toBeUndefined();
    expect(result.exitCode).toBe(0);
    const removal = planItems(result.ui).find((item) => item.kind === 'runtime-node');
    expect(removal).toMatchObject({ action: 'delete', name: 'shir-etl/vm-shir-01' });
    const log = box.requests();
    const deleted = log.findIndex((request) => request.method === 'DELETE' &&
      request.path.endsWith('/integrationRuntimes/shir-etl/nodes/vm-shir-01'));
    const installed = log.findIndex((request) => request.method === 'PUT' &&
      INSTALL.test(request.path));
    expect(deleted).toBeGreaterThan(-1);
    expect(installed).toBeGreaterThan(deleted);
    expect(runtimeState(box, 'shir-etl').nodes.map((node: any) => [node.nodeName, node.status]))
      .toEqual([['vm-shir-01', 'Online']]);
  });

  it('without approval the stale node stays and nothing changes', async () => {
    box = await startScenario('F14');

    const result = await run(box, 'fix', box.options({ isAutoApproved: false }),
      recordingUI({ approve: false }));

    expect(result.exitCode).toBe(6);
    expect(writes(box)).toEqual([]);
    expect(runtimeState(box, 'shir-etl').nodes[0].status).toBe('Offline');
  });
});

describe('F15: the runtime already has 4 nodes', () => {
  it('never tries a fifth node and repairs with a new runtime', async () => {
    box = await startScenario('F15');

    const result = await run(box, 'fix');

    expect(result.summary.error).toBeUndefined();
    expect(result.exitCode).toBe(0);
    const finding = findings(result.ui).find((item) => item.id === 'runtime.max-nodes');
    expect(finding?.title).toMatch(/already has 4 nodes.*will not add another/);
    expect(planItems(result.ui).find((item) => item.name === 'shir-etl')?.detail)
      .toMatch(/not extended/);
    expect(runtimeState(box, 'shir-etl').nodes.map((node: any) => node.nodeName))
      .toEqual(['ETL-NODE-1', 'ETL-NODE-2', 'ETL-NODE-3', 'ETL-NODE-4']);
    expect(box.requests().filter((request) =>
      /integrationRuntimes\/shir-etl\/listAuthKeys/i.test(request.path))).toEqual([]);
    expect(stored(box, 'linkedservices', 'RestService').connectVia.referenceName)
      .toBe('shir-doctor-ir');
  });
  it('does not extend even its own runtime when that one is full', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'shir-f15-'));
    const scenario = join(folder, 'F15-ours.json');
    writeFileSync(scenario, JSON.stringify(fullOwnRuntime()));
    box = await startScenario(scenario);

    const result = await run(box, 'fix');
    rmSync(folder, { recursive: true, force: true });

    expect(result.summary.error).toBeUndefined();
    expect(result.exitCode).toBe(0);
    expect(planItems(result.ui).find((item) => item.name === 'shir-doctor-ir')?.action)
      .toBe('keep');
    expect(runtimeState(box, 'shir-doctor-ir').nodes.map((node: any) => node.nodeName))
      .toEqual(['N1', 'N2', 'N3', 'N4']);
    const runtime = stored(box, 'linkedservices', 'RestService').connectVia.referenceName;
    expect(runtime).not.toBe('shir-doctor-ir');
    expect(runtimeState(box, runtime).nodes.map((node: any) => node.status)).toEqual(['Online']);
  });
});

/** F15 where the full runtime is the one shir-doctor would call its own. */
function fullOwnRuntime(): object {
  const runtimes = '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/providers/' +
    'Microsoft.Synapse/workspaces/{workspaceName}/integrationruntimes';
  const node = (name: string, status: string) => ({ nodeName: name, machineName: name, status });
  return {
    id: 'F15-ours', extends: 'F15', description: 'F15; the full runtime is shir-doctor-ir',
    resources: [{ id: `${runtimes}/shir-doctor-ir`, name: 'shir-doctor-ir',
      type: 'Microsoft.Synapse/workspaces/integrationruntimes',
      properties: { type: 'SelfHosted', description: 'from an earlier run' } }],
    runtimes: { '{workspaceName}/shir-doctor-ir': { nodes: [node('N1', 'Online'),
      node('N2', 'Online'), node('N3', 'Offline'), node('N4', 'Offline')] } },
  };
}

describe('F17: an existing VM in a subnet without any outbound access', () => {
  it('detects the missing egress, adds a NAT gateway before installing, opens no inbound port',
    async () => {
      box = await startScenario('F17');

      const result = await run(box, 'fix', box.options({}, { vmName: 'vm-etl-01' }));

      expect(result.summary.error).toBeUndefined();
      expect(result.exitCode).toBe(0);
      const noEgress = findings(result.ui).find((item) => item.id === 'vm.no-egress');
      expect(noEgress?.title).toContain('vm-etl-01');
      const nat = planItems(result.ui).find((item) => item.kind === 'nat-gateway');
      expect(nat?.action).toBe('create');
      const log = box.requests();
      const subnet = log.findIndex((request) => request.method === 'PUT' &&
        request.path.endsWith('/virtualNetworks/vnet-etl/subnets/snet-etl'));
      expect(subnet).toBeGreaterThan(-1);
      expect((log[subnet].request as any).properties.natGateway.id).toMatch(/natGateways\//);
      expect(log.findIndex((request) => INSTALL.test(request.path))).toBeGreaterThan(subnet);
      expect(log.findIndex((request) => PROBE.test(request.path))).toBeGreaterThan(subnet);
      expect(inboundOpenings(writes(box))).toEqual([]);
    });
});

describe('F17 without a usable VM: the new VM\'s own network', () => {
  it('gets NAT gateway egress, an NSG without inbound rules and no public IP on its NIC',
    async () => {
      box = await startScenario('F17');

      const result = await run(box, 'fix');

      expect(result.summary.error).toBeUndefined();
      expect(result.exitCode).toBe(0);
      const kinds = planItems(result.ui).filter((item) => item.action === 'create')
        .map((item) => item.kind);
      expect(kinds).toEqual(expect.arrayContaining(['nat-gateway', 'public-ip',
        'network-security-group']));
      const nsg = puts(box, /\/networkSecurityGroups\/[^/]+$/);
      expect(nsg).toHaveLength(1);
      expect(inboundOpenings(writes(box))).toEqual([]);
      const vnet = puts(box, /\/virtualNetworks\/shir-doctor-vm-vnet$/)[0]?.request as any;
      const subnet = vnet.properties.subnets[0].properties;
      expect(subnet.natGateway.id).toMatch(/natGateways\/shir-doctor-vm-natgw$/);
      expect(subnet.networkSecurityGroup.id).toMatch(/networkSecurityGroups\//);
    });
});

/** Any inbound allow rule, or a public IP put on a NIC: both would open the VM. */
function inboundOpenings(requests: LoggedRequest[]): unknown[] {
  const text = requests.map((request) => JSON.stringify(request.request ?? {}));
  const inboundAllow = /"direction":"Inbound"[^}]*"access":"Allow"/;
  const allowInbound = /"access":"Allow"[^}]*"direction":"Inbound"/;
  const rules = text.filter((body) => inboundAllow.test(body) || allowInbound.test(body));
  const nicIps = requests.filter((request) => /networkInterfaces\//.test(request.path) &&
    /publicIPAddress"/.test(JSON.stringify(request.request ?? {})));
  return [...rules, ...nicIps];
}

describe('F19: egress only through a proxy', () => {
  const proxyUrl = 'http://proxy.contoso.example:3128';

  it('without a proxy setting it says a proxy is needed, before installing', async () => {
    box = await startScenario('F19');

    const result = await run(box, 'fix');

    expect(result.exitCode).toBe(4);
    expect(result.summary.error?.code).toBe('egress-proxy-required');
    expect(result.summary.error?.fix).toMatch(/pass --proxy/);
    expect(puts(box, INSTALL)).toEqual([]);
  });

  it('with the proxy setting the probe and the install use it and registration succeeds',
    async () => {
      box = await startScenario('F19');

      const result = await run(box, 'fix', box.options({}, { proxyUrl }));

      expect(result.summary.error).toBeUndefined();
      expect(result.exitCode).toBe(0);
      expect(parametersOf(puts(box, PROBE)[0]).ProxyUrl).toBe(proxyUrl);
      expect(parametersOf(puts(box, INSTALL)[0]).ProxyUrl).toBe(proxyUrl);
      expect(runtimeState(box, 'shir-doctor-ir').nodes[0].status).toBe('Online');
    });
  it('verify probes through the proxy; without it, the failed check says to pass --proxy',
    async () => {
      box = await startScenario('F19');
      expect((await run(box, 'fix', box.options({}, { proxyUrl }))).exitCode).toBe(0);

      const withProxy = await run(box, 'verify', box.options({}, { proxyUrl }));
      const without = await run(box, 'verify');

      expect(withProxy.summary.error).toBeUndefined();
      expect(withProxy.exitCode).toBe(0);
      expect(without.exitCode).toBe(3);
      const probe = without.ui.events.find((event) => event.type === 'check' &&
        event.name === 'Egress probe from the VM');
      expect(probe?.type === 'check' && probe.isPassing).toBe(false);
      expect(probe?.type === 'check' && probe.detail).toMatch(/proxy-required.*pass --proxy/s);
    });
  it('a proxy password is a secret: protected on the VM, in no artefact', async () => {
    box = await startScenario('F19');
    const password = 'Pr0xy-Pa55-' + 'x'.repeat(8);
    const withCredentials = `http://etl:${password}@proxy.contoso.example:3128`;

    const result = await run(box, 'fix', box.options({}, { proxyUrl: withCredentials }));

    expect(result.summary.error).toBeUndefined();
    expect(result.exitCode).toBe(0);
    for (const put of [...puts(box, INSTALL), ...puts(box, PROBE)]) {
      expect(parametersOf(put).ProxyUrl).toBeUndefined();
      const hidden = (put.request as any).properties.protectedParameters ?? [];
      expect(hidden.map((item: any) => item.name)).toContain('ProxyUrl');
    }
    const artefacts = { events: eventText(result.ui), ...filesUnder(box.doctorDir) };
    const leaking = Object.entries(artefacts).filter(([, text]) => text.includes(password));
    expect(leaking.map(([name]) => name)).toEqual([]);
  });
});

describe('F07b and F19b: TLS inspection and DNS on the VM', () => {
  it('names the host and the failure kind for each', async () => {
    for (const [scenario, kind] of [['F07b', 'tls-failed'], ['F19b', 'dns-failed']]) {
      box = await startScenario(scenario);

      const result = await run(box, 'fix');

      expect(result.exitCode).toBe(4);
      expect(result.summary.error?.what).toBe(
        `VM shir-doctor-vm cannot reach api.partner.example:443 (${kind}).`);
      expect(puts(box, INSTALL)).toEqual([]);
      await box.cleanup();
      box = undefined;
    }
  });
});
