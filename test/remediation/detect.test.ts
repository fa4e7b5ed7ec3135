import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { detect } from '../../source/remediation/detect.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

describe('detect against the emulator (F01)', () => {
  let box: TestSandbox;

  beforeAll(async () => {
    box = await startTestSandbox({ scenario: 'F01' });
  });

  afterAll(async () => {
    await box?.cleanup();
  });

  it('finds the DEP lock, the affected linked services and the Web activity', async () => {
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
});
