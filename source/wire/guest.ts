/**
 * The contract between the scripts shir-doctor runs on a VM through Run Command v2 and whoever
 * executes them: a real Windows guest, or the sandbox's simulated one.
 *
 * Scripts are identified by their first line marker; parameters by the names below. Scripts
 * report progress as `SHIR-DOCTOR <key>=<value> ...` lines on stdout so both the product and the
 * simulated guest can read them without parsing prose. This module is the only product code the
 * sandbox may import.
 */

/** First line of each shipped script. */
export const SCRIPT_MARKERS = {
  install: '# shir-doctor: install-shir',
  probe: '# shir-doctor: probe-egress',
  inspect: '# shir-doctor: inspect-runtime',
} as const;

export type ScriptKind = keyof typeof SCRIPT_MARKERS;

/** Run Command v2 resource names used on the VM. */
export const RUN_COMMAND_NAMES: Record<ScriptKind, string> = {
  install: 'shir-doctor-install',
  probe: 'shir-doctor-probe',
  inspect: 'shir-doctor-inspect',
};

/** Parameter names. `AuthKey` travels only in `protectedParameters`. */
export const PARAM = {
  authKey: 'AuthKey',
  nodeName: 'NodeName',
  proxyUrl: 'ProxyUrl',
  /** probe: comma-separated `host:port` list. */
  hosts: 'Hosts',
  /** install: the MSI URL (defaults to the Microsoft fwlink). */
  msiUrl: 'MsiUrl',
} as const;

/**
 * Exit codes of install-shir.ps1. Anything else is the raw exit code of a failed step.
 */
export const INSTALL_EXIT = {
  ok: 0,
  badParameters: 2,
  prerequisites: 3,
  downloadFailed: 4,
  signatureInvalid: 5,
  msiFailed: 6,
  registeredElsewhere: 7,
  registrationFailed: 8,
  serviceNotRunning: 9,
} as const;

/** Well-known msiexec exit codes the tool explains. */
export const MSI_EXIT_MEANING: Record<number, string> = {
  1603: 'fatal error during installation',
  1618: 'another installation is already in progress',
  1619: 'the installation package could not be opened',
  1638: 'another version of this product is already installed',
  3010: 'a restart is required to complete the install',
};

/** Probe outcomes, one `SHIR-DOCTOR probe host=.. port=.. result=.. ms=..` line per host. */
export type ProbeResult = 'ok' | 'dns-failed' | 'tcp-failed' | 'tls-failed' | 'proxy-required';

/** Parses `SHIR-DOCTOR key=value key=value` lines from script output. */
export function parseGuestLines(output: string): Array<Record<string, string>> {
  const records: Array<Record<string, string>> = [];
  for (const line of output.split(/\r?\n/)) {
    if (!line.startsWith('SHIR-DOCTOR ')) continue;
    const record: Record<string, string> = {};
    for (const pair of line.slice('SHIR-DOCTOR '.length).trim().split(/\s+/)) {
      const at = pair.indexOf('=');
      if (at > 0) record[pair.slice(0, at)] = pair.slice(at + 1);
    }
    records.push(record);
  }
  return records;
}

/** Tags on every Azure resource shir-doctor creates. */
export const TAGS = {
  createdBy: 'created-by',
  createdByValue: 'shir-doctor',
  session: 'shir-doctor-session',
} as const;

/** Matches an integration runtime auth key anywhere in text (AZURE-WIRE.md). */
export const AUTH_KEY_PATTERN = new RegExp(
  'IR@[0-9a-fA-F-]{36}@[^@\\s"\']+@ServiceEndpoint=[^@\\s"\']+@[A-Za-z0-9+/=]+',
  'g',
);
