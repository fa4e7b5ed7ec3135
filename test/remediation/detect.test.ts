import { afterEach, describe, expect, it } from 'vitest';

import { isDoctorError } from '../../source/engine/errors.js';
import { detect } from '../../source/remediation/detect.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { editedF01, workspaceOf } from '../helpers/scenario.js';

describe('detect against the emulator', () => {
  let box: TestSandbox | undefined;

  afterEach(async () => {
    await box?.cleanup();
    box = undefined;
  });

  it('finds the DEP lock, the affected linked services and the Web activity (F01)', async () => {
    box = await startTestSandbox({ scenario: 'F01' });

    const { inventory, findings } = await detect(box.clients, box.target);

    expect(inventory.workspace.isDepLocked).toBe(true);
    expect(findings.map((finding) => finding.id)).toContain('workspace.dep-locked');
    const byName = Object.fromEntries(inventory.linkedServices.map((s) => [s.name, s]));
    expect(byName.RestService.classification).toBe('external-api');
    expect(byName.RestService.maskedSecrets).toEqual(['/typeProperties/authHeaders/x-api-key']);
    expect(byName.RestService.rawBody).toContain('**********');
    expect(byName.PartnerFiles.classification).toBe('external-api');
    const storage = inventory.linkedServices.find((s) => s.type.startsWith('AzureBlob'));
    expect(storage?.classification).toBe('azure-private-link');
    const pipeline = inventory.pipelines.find((p) => p.name === 'CallPartnerApi');
    expect(pipeline?.classification).toBe('external-api');
    expect(pipeline?.webActivities[0].pointer).toBe('/activities/0');
  });

  it('calls the DEP lock a problem only while a connection is blocked by it', async () => {
    box = await startTestSandbox({ scenario: 'F01' });
    const locked = await detect(box.clients, box.target);
    await box.cleanup();
    box = await startTestSandbox({ scenario: editedF01((s) => {
      const definitions = s.workspaces['{workspaceName}'];
      definitions.linkedServices = definitions.linkedServices
        .filter((ls: any) => ls.properties.type === 'AzureBlobFS');
      definitions.pipelines = [];
    }) });
    const unblocked = await detect(box.clients, box.target);

    const lockOf = (findings: typeof locked.findings) =>
      findings.find((finding) => finding.id === 'workspace.dep-locked');
    expect(lockOf(locked.findings)?.severity).toBe('problem');
    expect(lockOf(unblocked.findings)?.severity).toBe('info');
    expect(lockOf(unblocked.findings)?.title).toContain('no connection is blocked by it');
  });

  it('says plainly when the workspace is not DEP-locked (F03)', async () => {
    box = await startTestSandbox({ scenario: editedF01((s) => {
      delete workspaceOf(s).properties.managedVirtualNetwork;
    }) });

    const { inventory, findings } = await detect(box.clients, box.target);

    expect(inventory.workspace.isDepLocked).toBe(false);
    expect(inventory.linkedServices).toEqual([]);
    expect(findings[0].id).toBe('workspace.not-dep-locked');
    expect(findings[0].evidence).toContain('managedVirtualNetwork = (missing)');
  });

  it('explains allowed tenants without suggesting to turn DEP off (F04)', async () => {
    box = await startTestSandbox({ scenario: editedF01((s) => {
      workspaceOf(s).properties.managedVirtualNetworkSettings.allowedAadTenantIdsForLinking =
        ['11111111-2222-3333-4444-555555555555'];
    }) });

    const { findings } = await detect(box.clients, box.target);

    const tenant = findings.find((finding) => finding.id === 'workspace.tenant-linking-limited');
    expect(tenant?.title).toContain('self-hosted runtime');
    expect(JSON.stringify(findings)).not.toMatch(/disable (DEP|data exfiltration)/i);
  });

  it('fails early about private endpoints and DNS when the dev endpoint is private (F08)',
    async () => {
      box = await startTestSandbox({ scenario: editedF01((s) => {
        workspaceOf(s).properties.publicNetworkAccess = 'Disabled';
      }) });

      const error = await detect(box.clients, box.target).catch((caught) => caught);

      expect(isDoctorError(error)).toBe(true);
      expect(error.info.code).toBe('dev-endpoint-unreachable');
      expect(error.info.exitCode).toBe(4);
      expect(error.info.fix).toContain('private endpoint');
      expect(error.info.fix).toContain('DNS');
    });

  it('fails at the first refused dev-endpoint request, without retrying it (F08)', async () => {
    box = await startTestSandbox({ scenario: 'F08' });

    const error = await detect(box.clients, box.target).catch((caught) => caught);

    expect(isDoctorError(error)).toBe(true);
    expect(error.info.code).toBe('dev-endpoint-unreachable');
    expect(error.info.fix).toContain('private endpoint');
    expect(box.retries).toEqual([]);
  });
});
