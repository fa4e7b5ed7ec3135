/**
 * What a rollback reads from the journal of an interrupted session. --delete-created deletes
 * creations cut off in flight (an intent without an outcome) too, in journal order, newest
 * first, so a VM whose create was interrupted goes before the NIC it uses. A definition whose
 * rewrite failed or was interrupted (Ctrl-C) may still have been written, so it is restored.
 */
import { describe, expect, it } from 'vitest';

import type { JournalContents } from '../../source/engine/journal.js';
import type { ChangeIntent, ChangeResult } from '../../source/engine/step.js';
import { changedDefinitions, createdToDelete } from '../../source/remediation/rollback.js';

type Change = JournalContents['changes'][number];

function change(id: string, intent: Omit<ChangeIntent, 'name'>, result?: ChangeResult): Change {
  const name = intent.resourceId.split('/').at(-1) ?? id;
  return { id, at: id, change: { ...intent, name }, result };
}

function journalOf(changes: Change[], state: Record<string, unknown> = {}): JournalContents {
  const created = changes
    .filter(({ change: c, result }) => c.action === 'create' && result?.isOk === true)
    .map(({ change: c }) => c.resourceId);
  const uncertain = changes.filter(({ result }) => result === undefined);
  return { changes, created, uncertain, state } as unknown as JournalContents;
}

const OK: ChangeResult = { isOk: true };
const NIC = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/nic';
const VM = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm';
const PIP = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses/ip';

describe('created resources to delete after an interrupted session', () => {
  it('includes a create cut off in flight, newest first', () => {
    const contents = journalOf([
      change('c1', { action: 'create', kind: 'network-interface', resourceId: NIC }, OK),
      change('c2', { action: 'create', kind: 'virtual-machine', resourceId: VM }),
    ]);

    expect(createdToDelete(contents)).toEqual([VM, NIC]);
  });

  it('lists a resource once when a resumed session created it again', () => {
    const contents = journalOf([
      change('c1', { action: 'create', kind: 'public-ip', resourceId: PIP }),
      change('c2', { action: 'create', kind: 'network-interface', resourceId: NIC }, OK),
      change('c3', { action: 'create', kind: 'public-ip', resourceId: PIP }, OK),
    ]);

    expect(createdToDelete(contents)).toEqual([PIP, NIC]);
  });

  it('leaves out a create that failed and one already deleted', () => {
    const contents = journalOf([
      change('c1', { action: 'create', kind: 'public-ip', resourceId: PIP },
        { isOk: false, error: 'quota' }),
      change('c2', { action: 'create', kind: 'network-interface', resourceId: NIC }, OK),
      change('c3', { action: 'delete', kind: 'network-interface', resourceId: NIC }, OK),
    ]);

    expect(createdToDelete(contents)).toEqual([]);
  });
});

describe('definitions to restore after an interrupted session', () => {
  const dev = 'https://dev/linkedservices';
  const backups = {
    'backup:linked-service:Written': { text: '{}' },
    'rewired:linked-service:Written': 'etag-2',
    'backup:linked-service:Interrupted': { text: '{}' },
    'backup:linked-service:Untouched': { text: '{}' },
  };

  it('restores a definition whose rewrite was interrupted after it was sent', () => {
    const contents = journalOf([
      change('c1', { action: 'update', kind: 'linked-service', resourceId: `${dev}/Written` },
        OK),
      change('c2', { action: 'update', kind: 'linked-service',
        resourceId: `${dev}/Interrupted` }, { isOk: false, error: 'This operation was aborted' }),
    ], backups);

    expect(changedDefinitions(contents)).toEqual([
      { kind: 'linked-service', name: 'Written' },
      { kind: 'linked-service', name: 'Interrupted' },
    ]);
  });
});
