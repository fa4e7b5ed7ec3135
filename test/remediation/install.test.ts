import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { ExitCode } from '../../source/engine/errors.js';
import type { RuntimeView } from '../../source/remediation/context.js';
import { toScriptRun, type ScriptRun } from '../../source/remediation/guest.js';
import {
  alreadyRegistered,
  installFailure,
  installStep,
  isSameRuntime,
  msiExitOf,
  parseInspect,
} from '../../source/remediation/install.js';
import { INSTALL_EXIT, MSI_EXIT_MEANING, SCRIPT_MARKERS } from '../../source/wire/guest.js';
import { makeAuthKey } from '../helpers/secrets.js';

function run(exitCode: number | undefined, output = ''): ScriptRun {
  return toScriptRun({ exitCode, output, executionState: 'Succeeded' });
}

describe('installFailure', () => {
  it('maps every INSTALL_EXIT failure code to its own error with a fix line', () => {
    const failures = Object.entries(INSTALL_EXIT).filter(([, code]) => code !== 0);

    const infos = failures.map(([, code]) => installFailure(run(code)));

    const codes = infos.map((info) => info.code);
    expect(new Set(codes).size).toBe(failures.length);
    for (const info of infos) {
      expect(info.code).not.toBe('install-failed');
      expect(info.fix.length).toBeGreaterThan(20);
    }
  });

  it('F06: exit 7 blocks and offers another VM or a new one', () => {
    const info = installFailure(run(INSTALL_EXIT.registeredElsewhere));

    expect(info.exitCode).toBe(ExitCode.blocked);
    expect(info.fix).toMatch(/--vm-name/);
  });

  it('F09: a failed download names TLS from the script line and advises egress or proxy', () => {
    const output = 'SHIR-DOCTOR stage=download status=failed reason=tls detail=secure_channel';

    const info = installFailure(run(INSTALL_EXIT.downloadFailed, output));

    expect(info.code).toBe('install-download-failed');
    expect(info.why).toContain('reason=tls');
    expect(info.fix).toMatch(/--proxy/);
  });

  it('F10: MSI 1618 names the code and its meaning, and how many attempts were made', () => {
    const output = 'SHIR-DOCTOR stage=msi status=failed reason=msiexec msiExit=1618';

    const info = installFailure(run(INSTALL_EXIT.msiFailed, output), 4);

    expect(info.code).toBe('msi-1618');
    expect(info.what).toContain('1618');
    expect(info.what).toContain(MSI_EXIT_MEANING[1618]);
    expect(info.what).toContain('after 4 attempts');
  });

  it('keeps the failed stage line in the evidence even when the output runs long', () => {
    const noise = Array.from({ length: 30 }, (_, i) => `dmgcmd: detail line ${i}`);
    const output = ['SHIR-DOCTOR stage=register status=failed reason=dmgcmd dmgcmdExit=1',
      ...noise].join('\n');

    const info = installFailure(run(INSTALL_EXIT.registrationFailed, output));

    const lines = info.why?.split('\n') ?? [];
    expect(lines[0]).toBe('SHIR-DOCTOR stage=register status=failed reason=dmgcmd dmgcmdExit=1');
    expect(lines.at(-1)).toBe('dmgcmd: detail line 29');
    expect(lines).toHaveLength(11);
  });

  it('reads the msiexec code from a raw exit code too', () => {
    expect(msiExitOf(run(1603))).toBe(1603);
    expect(msiExitOf(run(INSTALL_EXIT.msiFailed,
      'SHIR-DOCTOR stage=msi status=failed msiExit=1638'))).toBe(1638);
    expect(msiExitOf(run(INSTALL_EXIT.registrationFailed))).toBeUndefined();
  });

  it('says so when Run Command never reported an exit code', () => {
    const info = installFailure(toScriptRun({ executionState: 'TimedOut' }));

    expect(info.code).toBe('run-command-unfinished');
    expect(info.what).toContain('TimedOut');
  });

  it('F13: never carries the auth key from the script output into the error', () => {
    const key = makeAuthKey();
    const output = `dmgcmd: registering with ${key}\n` +
      'SHIR-DOCTOR stage=register status=failed reason=dmgcmd dmgcmdExit=1';

    const info = installFailure(run(INSTALL_EXIT.registrationFailed, output));

    expect(JSON.stringify(info)).not.toContain(key);
    expect(info.why).toContain('[redacted]');
  });
});

describe('parseInspect', () => {
  it('reads installed and registeredTo, ignoring none and unknown', () => {
    const other = run(0, 'SHIR-DOCTOR runtime installed=yes service=Running registeredTo=ir-b');
    const unknown = run(0, 'SHIR-DOCTOR runtime installed=yes registeredTo=unknown');
    const none = run(0, 'SHIR-DOCTOR runtime installed=no registeredTo=none');

    expect(parseInspect(other)).toEqual({ isInstalled: true, registeredTo: 'ir-b' });
    expect(parseInspect(unknown)).toEqual({ isInstalled: true, registeredTo: undefined });
    expect(parseInspect(none)).toEqual({ isInstalled: false, registeredTo: undefined });
  });
});

describe('alreadyRegistered', () => {
  const base: RuntimeView = { name: 'ir', type: 'SelfHosted', isShared: false, nodes: [] };
  const withNode = (status: string): RuntimeView => ({
    ...base,
    nodes: [{ nodeName: 'shir-vm', status, capabilities: {} }],
  });

  it('skips the install when our node is already Online (idempotent rerun)', () => {
    expect(alreadyRegistered(withNode('Online'), 'shir-vm')?.status).toBe('skipped');
  });

  it('installs when there is no node or it still needs registration', () => {
    expect(alreadyRegistered(base, 'shir-vm')).toBeUndefined();
    expect(alreadyRegistered(withNode('NeedRegistration'), 'shir-vm')).toBeUndefined();
  });

  it('F14: refuses to register over an Offline node with our name', () => {
    expect(() => alreadyRegistered(withNode('Offline'), 'shir-vm'))
      .toThrowError(/Offline node named shir-vm/);
  });
});

describe('installStep', () => {
  it('runs after the VM, the key, the stale-node cleanup and the probe', () => {
    expect([...installStep().dependsOn].sort())
      .toEqual(['auth-key', 'probe', 'stale-nodes', 'vm']);
  });
});

describe('install-shir.ps1', () => {
  const path = join(import.meta.dirname, '..', '..', 'scripts', 'install-shir.ps1');

  it('starts with its marker and declares the four parameters', async () => {
    const text = await readFile(path, 'utf8');

    expect(text.split('\n', 1)[0]).toBe(SCRIPT_MARKERS.install);
    for (const name of ['AuthKey', 'NodeName', 'ProxyUrl', 'MsiUrl']) {
      expect(text).toMatch(new RegExp(`\\[string\\] \\$${name}\\b`));
    }
  });

  it('F09: forces TLS 1.2 before any download', async () => {
    const text = await readFile(path, 'utf8');

    const tls = text.indexOf('[Net.SecurityProtocolType]::Tls12');
    expect(tls).toBeGreaterThan(0);
    expect(tls).toBeLessThan(text.indexOf('Invoke-WebRequest'));
  });

  it('F13: never writes the key anywhere and keeps no transcript', async () => {
    const text = await readFile(path, 'utf8');

    expect(text).not.toMatch(/Start-Transcript|Set-PSDebug/);
    expect(text).not.toMatch(/Write-(Host|Output|Verbose|Information)[^\n]*\$AuthKey/);
    expect(text).not.toMatch(/Out-File[^\n]*\$AuthKey|Add-Content[^\n]*\$AuthKey/);
    expect(text).toContain("'-RegisterNewNode', $AuthKey, $NodeName");
  });

  it('writes stage lines to stdout directly, never into a function\'s return value', async () => {
    const text = await readFile(path, 'utf8');

    expect(text).toContain('[Console]::Out.WriteLine');
    expect(text.split('\n').filter((line) => /^\s*Write-Output\b/.test(line))).toEqual([]);
  });

  it('checks the signature, runs msiexec quietly and confirms the service', async () => {
    const text = await readFile(path, 'utf8');

    expect(text).toContain('Get-AuthenticodeSignature');
    expect(text).toMatch(/'\/quiet', '\/norestart'/);
    expect(text).toContain('DiacmdPath');
    expect(text).toContain('DIAHostService');
  });
});

describe('isSameRuntime', () => {
  it('matches a bare runtime name or workspace/runtime, case-insensitively', () => {
    expect(isSameRuntime('shir-doctor-ir', 'ws', 'shir-doctor-ir')).toBe(true);
    expect(isSameRuntime('WS/Shir-Doctor-IR', 'ws', 'shir-doctor-ir')).toBe(true);
    expect(isSameRuntime('other-ws/shir-doctor-ir', 'ws', 'shir-doctor-ir')).toBe(false);
    expect(isSameRuntime('ir-dev-selfhosted', 'ws', 'shir-doctor-ir')).toBe(false);
  });
});
