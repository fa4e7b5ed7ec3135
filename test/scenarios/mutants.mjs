#!/usr/bin/env node
/**
 * Proves the scenario tests guard what they claim: each mutant breaks one product line that a
 * row of SCENARIOS.md depends on, and the scenario test for that row must then fail (the mutant
 * is "killed"). Mutants are applied to a copy of the tree in a temporary folder, never to the
 * working tree, so other test runs are not disturbed.
 *
 * Usage: node test/scenarios/mutants.mjs [text in the mutant's name ...]
 * Exit code 1 when a mutant survives or no longer applies.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('../..', import.meta.url).pathname;

/** [row and what breaks, file, the line as it is, the line broken, test file, test filter] */
const MUTANTS = [
  ['F01 the proving run uses the managed runtime', 'source/remediation/prove.ts',
    'connectVia: runtimeReference(runtimeName),',
    'connectVia: runtimeReference(\'AutoResolveIntegrationRuntime\'),',
    'rewire-prove', 'detects, plans'],
  ['F01 rewire does not set connectVia', 'source/remediation/rewire.ts',
    'for (const slot of slots) setAt(properties, slot, runtimeReference(runtimeName));', '',
    'rewire-prove', 'detects, plans'],
  ['F02 Web activities are not rewired', 'source/remediation/rewire.ts',
    '  if (item.kind === \'linked-service\') return [\'/connectVia\'];\n',
    '  if (item.kind !== \'linked-service\') return [];\n' +
    '  if (item.kind === \'linked-service\') return [\'/connectVia\'];\n',
    'detect-plan', 'F02'],
  ['F03 every workspace counts as DEP-locked', 'source/remediation/detect.ts',
    'workspace.managedVirtualNetwork === \'default\' && ' +
    'settings?.preventDataExfiltration === true;', 'true;',
    'detect-plan', 'F03'],
  ['F03 fix ignores not-DEP-locked', 'source/remediation/session.ts',
    '  if (!detected.inventory.workspace.isDepLocked) return notApplicable(session, detected);\n' +
    '\n  const planned', '  const planned',
    'detect-plan', 'says plainly'],
  ['F04 a cross-tenant target is not recognised', 'source/remediation/detect.ts',
    '  const isCrossTenant = service.classification === \'external-api\' && ' +
    'tenant !== undefined &&',
    '  const isCrossTenant = false && tenant !== undefined &&',
    'detect-plan', 'F04'],
  ['F05 a shared runtime is not recognised', 'source/remediation/detect.ts',
    'isShared: isShared || !!status?.isShared };', 'isShared: false };',
    'detect-plan', 'F05'],
  ['F06 no look inside the VM before installing', 'source/remediation/install.ts',
    '  if (!guest.isInstalled || !guest.registeredTo) return;', '  if (guest) return;',
    'host', 'F06'],
  ['F07 the probe leaves out the relay host', 'source/remediation/probe.ts',
    '  const targets: ProbeTarget[] = [{ host: SERVICE_BUS_PROBE_HOST, port: 443,\n' +
    '    purpose: \'the runtime\\\'s relay (*.servicebus.windows.net)\', ' +
    'isRepresentative: true }];',
    '  const targets: ProbeTarget[] = [];',
    'host', 'F07'],
  ['F08 no private-endpoint diagnosis', 'source/remediation/detect.ts',
    'if (isPrivate && (isNetworkFailure(error) || status === 403)) {', 'if (false) {',
    'detect-plan', 'F08'],
  ['F09 the install script does not force TLS 1.2', 'scripts/install-shir.ps1',
    '[Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol ' +
    '-bor [Net.SecurityProtocolType]::Tls12', '',
    'host', 'forces TLS 1.2'],
  ['F10 no retry on 1618', 'source/remediation/install.ts',
    'if (msiCode !== MSI_BUSY || delay === undefined) {', 'if (msiCode !== -1) {',
    'host', 'F10'],
  ['F11 the exit code is trusted', 'source/remediation/online.ts',
    '    if (node?.status === \'Online\') return nodeOnline(context, node, started);',
    '    if (node?.status !== \'Online\') return nodeOnline(context, ' +
    '(node ?? { nodeName, status: \'Online\' }) as never, started);',
    'host', 'waits to the deadline'],
  ['F12 no upgrade offer', 'source/remediation/plan.ts',
    '  if (!runtime) return [];\n  const latest', '  if (runtime) return [];\n  const latest',
    'detect-plan', 'F12'],
  ['F12 the fix never updates the runtime', 'source/remediation/host.ts',
    '    runtimeUpdateStep(),\n', '',
    'detect-plan', 'F12'],
  ['F13 the redactor does nothing', 'source/engine/redact.ts',
    'export function redact(text: string): string {',
    'export function redact(text: string): string {\n  if (text.length >= 0) return text;',
    'secrets', 'echoes the key'],
  ['F14 the stale node is kept', 'source/remediation/plan.ts',
    '  const stale = node.status === \'Offline\' ? [node] : [];', '  const stale: NodeView[] = [];',
    'host', 'removes the stale node'],
  ['F15 a full runtime still counts as usable', 'source/remediation/plan.ts',
    'runtime.type === \'SelfHosted\' && !runtime.isShared && runtime.nodes.length < MAX_NODES;',
    'runtime.type === \'SelfHosted\' && !runtime.isShared;',
    'host', 'F15'],
  ['F16 masked secrets are not restored', 'source/remediation/rewire.ts',
    '  await restoreSecrets(properties, item, context.secrets);\n', '',
    'rewire-prove', 'F16'],
  ['F17 no NAT gateway for a VM without egress', 'source/remediation/plan.ts',
    'const egress = vm.hasEgress === false ? \'nat-gateway\' : undefined;',
    'const egress = undefined;',
    'host', 'F17'],
  ['F17 the new VM\'s NSG lets RDP in', 'source/remediation/network.ts',
    '      securityRules: [],',
    '      securityRules: [{ name: \'rdp\', protocol: \'Tcp\', access: \'Allow\', ' +
    'direction: \'Inbound\', priority: 100, sourceAddressPrefix: \'*\', ' +
    'sourcePortRange: \'*\', destinationAddressPrefix: \'*\', ' +
    'destinationPortRange: \'3389\' }],',
    'host', 'new VM\'s own network'],
  ['F18 the test keeps the activity\'s 5-minute timeout', 'source/remediation/prove.ts',
    'export const API_TIMEOUT = \'00:00:30\';', 'export const API_TIMEOUT = \'00:05:00\';',
    'rewire-prove', 'F18'],
  ['F19 the proxy does not reach the install', 'source/remediation/install.ts',
    '      ...proxyParameters(context.target.proxyUrl).plain,\n', '',
    'host', 'F19'],
  ['F19 a proxy password is not registered as a secret', 'source/remediation/session.ts',
    '  registerUrlPassword(options.target.proxyUrl);\n', '',
    'host', 'proxy password'],
  ['F19 a proxy URL with credentials travels in plain parameters', 'source/remediation/probe.ts',
    '  return hasCredentials(proxyUrl) ? { plain: {}, secret: entry } : ' +
    '{ plain: entry, secret: {} };',
    '  return { plain: entry, secret: {} };',
    'host', 'proxy password'],
  ['F20 no retries', 'source/azure/clients.ts',
    'export const DEFAULT_RETRY = { maxRetries: 4,',
    'export const DEFAULT_RETRY = { maxRetries: 0,',
    'rewire-prove', 'F20'],
  ['F20 retries are not reported', 'source/azure/policies.ts',
    'const retries = countRetry(previous, request, onRetry);',
    'const retries = countRetry(previous, request, () => undefined);',
    'rewire-prove', 'F20'],
  ['All rows: a declined plan is applied anyway', 'source/remediation/session.ts',
    '  if (answer !== true) return false;\n', '',
    'no-change', 'F01'],
];

function copyTree() {
  const dir = mkdtempSync(join(tmpdir(), 'shir-mutant-'));
  for (const name of ['source', 'test', 'scenarios', 'scripts', 'package.json', 'tsconfig.json',
    'vitest.config.ts']) {
    cpSync(join(ROOT, name), join(dir, name), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

function runMutant([name, file, line, broken, test, filter]) {
  const dir = copyTree();
  try {
    const path = join(dir, file);
    const text = readFileSync(path, 'utf8');
    if (text.split(line).length !== 2) return `STALE    ${name}: the line is not there once`;
    writeFileSync(path, text.replace(line, () => broken));
    const run = spawnSync('npx', ['vitest', 'run', `test/scenarios/${test}.test.ts`, '-t', filter],
      { cwd: dir, encoding: 'utf8' });
    // Killed means a test assertion failed, not a crash or a syntax error in the mutant.
    const isAssertion = /AssertionError/.test(`${run.stdout}${run.stderr}`);
    const verdict = run.status === 0 ? 'SURVIVED' : isAssertion ? 'KILLED  ' : 'ERRORED ';
    return `${verdict} ${name}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const wanted = process.argv.slice(2);
const chosen = MUTANTS.filter(([name]) =>
  wanted.length === 0 || wanted.some((text) => name.includes(text)));
let isAllKilled = true;
for (const mutant of chosen) {
  const verdict = runMutant(mutant);
  if (!verdict.startsWith('KILLED')) isAllKilled = false;
  process.stdout.write(`${verdict}\n`);
}
process.exitCode = isAllKilled ? 0 : 1;
