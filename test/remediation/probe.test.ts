import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { ExitCode } from '../../source/engine/errors.js';
import {
  buildProbeTargets,
  DOWNLOAD_HOSTS,
  probeFailure,
  probeStep,
  readProbe,
  SERVICE_BUS_PROBE_HOST,
} from '../../source/remediation/probe.js';
import { parseGuestLines, SCRIPT_MARKERS } from '../../source/wire/guest.js';
import { makeAuthKey } from '../helpers/secrets.js';

describe('buildProbeTargets', () => {
  it('lists the relay, service URLs, the key endpoint, downloads and the API once each', () => {
    const key = makeAuthKey('ws', 'wu2.frontend.clouddatahub.net');

    const targets = buildProbeTargets({
      serviceUrls: ['wu2.frontend.clouddatahub.net', '*.servicebus.windows.net'],
      authKey: key,
      apiUrl: 'https://api.partner.example:8443/v1/health',
    });

    expect(targets.map((item) => `${item.host}:${item.port}`)).toEqual([
      `${SERVICE_BUS_PROBE_HOST}:443`,
      'wu2.frontend.clouddatahub.net:443',
      ...DOWNLOAD_HOSTS.map((host) => `${host}:443`),
      'api.partner.example:8443',
    ]);
    expect(targets[0]?.isRepresentative).toBe(true);
  });

  it('works with nothing known yet but the fixed hosts', () => {
    const targets = buildProbeTargets({ serviceUrls: [] });

    expect(targets.map((item) => item.host)).toEqual([SERVICE_BUS_PROBE_HOST, ...DOWNLOAD_HOSTS]);
  });
});

describe('readProbe', () => {
  const hosts = buildProbeTargets({ serviceUrls: [], apiUrl: 'https://api.partner.example/v1' });

  function lines(results: Record<string, string>): Array<Record<string, string>> {
    const text = Object.entries(results).map(([host, result]) =>
      `SHIR-DOCTOR probe host=${host} port=443 result=${result} ms=12`).join('\n');
    return parseGuestLines(text);
  }

  it('F17: a closed path fails the probe on the first blocked host', () => {
    const records = lines(Object.fromEntries(hosts.map((item) => [item.host, 'tcp-failed'])));

    const report = readProbe('vm1', hosts, records, '');

    expect(report.failures.map((item) => item.host)).toEqual(hosts.map((item) => item.host));
    const error = probeFailure(report);
    expect(error.info.what).toContain(`cannot reach ${SERVICE_BUS_PROBE_HOST}:443 (tcp-failed)`);
    expect(error.info.fix).toMatch(/NAT gateway or Standard public IP/);
    expect(error.info.exitCode).toBe(ExitCode.blocked);
  });

  it('F07: names the one failing host among passing ones', () => {
    const results = Object.fromEntries(hosts.map((item) => [item.host, 'ok']));
    results['download.microsoft.com'] = 'tls-failed';

    const report = readProbe('vm1', hosts, lines(results), '');

    expect(report.failures.map((item) => item.host)).toEqual(['download.microsoft.com']);
    expect(probeFailure(report).info.what).toContain('download.microsoft.com');
    expect(probeFailure(report).info.fix).toMatch(/TLS/);
  });

  it('F19: proxy-required tells the admin to pass --proxy', () => {
    const results = Object.fromEntries(hosts.map((item) => [item.host, 'proxy-required']));

    const error = probeFailure(readProbe('vm1', hosts, lines(results), ''));

    expect(error.info.code).toBe('egress-proxy-required');
    expect(error.info.fix).toContain('--proxy');
  });

  it('a representative relay host that does not resolve is a warning, not a failure', () => {
    const results = Object.fromEntries(hosts.map((item) => [item.host, 'ok']));
    results[SERVICE_BUS_PROBE_HOST] = 'dns-failed';

    const report = readProbe('vm1', hosts, lines(results), '');

    expect(report.failures).toEqual([]);
    expect(report.warnings.map((item) => item.host)).toEqual([SERVICE_BUS_PROBE_HOST]);
  });

  it('a host the script never reported counts as failing', () => {
    const report = readProbe('vm1', hosts, [], '');

    expect(report.failures.every((item) => item.result === 'missing')).toBe(true);
  });
});

describe('probe step and script', () => {
  it('runs as soon as the VM exists', () => {
    expect(probeStep().dependsOn).toEqual(['vm']);
  });

  it('probe-egress.ps1 starts with its marker and prints one probe line per host', async () => {
    const path = join(import.meta.dirname, '..', '..', 'scripts', 'probe-egress.ps1');
    const text = await readFile(path, 'utf8');

    expect(text.split('\n', 1)[0]).toBe(SCRIPT_MARKERS.probe);
    expect(text).toContain('SHIR-DOCTOR probe host=$HostName port=$Port result=$Result ms=$Ms');
    expect(text).toMatch(/\[string\] \$Hosts/);
    expect(text).toMatch(/\[string\] \$ProxyUrl/);
  });
});
