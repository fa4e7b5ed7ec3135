/**
 * Kill-and-resume inside each long-running operation: at demo pacing (time scale 1) the
 * network creates, the NIC and VM creates, the install run command, a linked-service rewrite
 * and the end-to-end pipeline run each take about a second or more, so a SIGKILL sent once the
 * journal shows the change's intent without an outcome lands while it is in flight. One
 * session is killed once in each of them in turn, every rerun resuming the last; afterwards
 * the journal still shows each interrupted change as uncertain. The last rerun must finish
 * with the same world as an uninterrupted run, every created resource tagged with the tool and
 * the one session, one more fix must find nothing to do, and a rollback with --delete-created
 * must then give back the world as it was before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { DoctorEvent } from '../../source/engine/events.js';
import { readJournal, sessionDirectory } from '../../source/engine/journal.js';
import { TAGS } from '../../source/wire/guest.js';
import {
  ensureBuilt,
  fixedStateDir,
  freshStateDir,
  isInFlight,
  issuedKeys,
  keyLeaks,
  outputsOf,
  removeStateDirs,
  sandboxArgs,
  snapshot,
  startedOf,
  summaryOf,
  tagsByName,
  watchCli,
  type WatchedRun,
  type WorldSnapshot,
} from './helpers.js';

const TIMEOUT = 180_000;

afterAll(removeStateDirs);
const DEMO_PACE = 1;

/** Where to kill: an announced operation, once the journal shows its change in flight. */
interface InFlightKill {
  label: string;
  /** A step.progress message that announces the operation. */
  progress: RegExp;
  /**
   * `kind action` of the journaled change: the kill waits until it has an intent and no
   * outcome, and the journal must still show it so afterwards. Without one, kill at once.
   */
  uncertain?: string;
  /** Which change of that kind, when there are several. */
  name?: RegExp;
}

const KILLS: InFlightKill[] = [
  { label: 'public IP create', progress: /^creating public-ip /,
    uncertain: 'public-ip create' },
  { label: 'NAT gateway create', progress: /^creating nat-gateway /,
    uncertain: 'nat-gateway create' },
  { label: 'network security group create', progress: /^creating network-security-group /,
    uncertain: 'network-security-group create' },
  { label: 'virtual network create', progress: /^creating virtual-network /,
    uncertain: 'virtual-network create' },
  { label: 'network interface create', progress: /^creating network interface /,
    uncertain: 'network-interface create' },
  { label: 'VM create', progress: /^provisioning VM /, uncertain: 'virtual-machine create' },
  { label: 'install run command', progress: /^installing the runtime/,
    uncertain: 'run-command create', name: /install$/ },
  { label: 'linked service rewrite', progress: /^rewiring Linked service PartnerFiles/,
    uncertain: 'linked-service update', name: /^PartnerFiles$/ },
  { label: 'end-to-end pipeline run', progress: /^pipeline run InProgress/ },
];

let reference: WorldSnapshot;

beforeAll(async () => {
  await ensureBuilt();
  reference = await snapshot(await fixedStateDir());
}, TIMEOUT);

function announces(event: DoctorEvent, kill: InFlightKill): boolean {
  return event.type === 'step.progress' && kill.progress.test(event.message);
}

function isSame(a: Record<string, string>, b: Record<string, string>): boolean {
  return JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
}

/** `kind action` of every change the session's journal holds without an outcome. */
async function uncertainChanges(stateDir: string, run: WatchedRun): Promise<string[]> {
  const journal = await readJournal(sessionDirectory(stateDir, startedOf(run).sessionId));

  return journal.uncertain.map(({ change }) => `${change.kind} ${change.action}`);
}

describe('SIGKILL inside each long-running operation, then the same fix again', () => {
  it('resumes after every kill and ends as an uninterrupted run does', async () => {
    const stateDir = await freshStateDir();
    const before = await snapshot(stateDir);
    const args = [...sandboxArgs('fix', stateDir, DEMO_PACE), '--yes'];
    const sessionIds = new Set<string>();
    const resumed: boolean[] = [];
    const runs: Record<string, WatchedRun> = {};

    for (const kill of KILLS) {
      let sessionId: string | undefined;
      const run = await watchCli(args, (event) => {
        if (event.type === 'session.started') sessionId = event.sessionId;
        if (!announces(event, kill)) return undefined;

        const { uncertain, name } = kill;
        return uncertain === undefined ? 'SIGKILL' : { signal: 'SIGKILL',
          until: () => isInFlight(stateDir, sessionId, uncertain, name) };
      });

      expect(run.killedAt, `never announced the ${kill.label}:\n${run.stderr.slice(-2000)}`)
        .toBeDefined();
      expect(run.signal, `the ${kill.label} ended before the kill`).toBe('SIGKILL');
      if (kill.uncertain) {
        expect(await uncertainChanges(stateDir, run), kill.label).toContain(kill.uncertain);
      }
      sessionIds.add(startedOf(run).sessionId);
      resumed.push(startedOf(run).isResumed);
      runs[kill.label] = run;
    }
    const last = await watchCli(args);
    const world = await snapshot(stateDir);
    const keys = await issuedKeys(stateDir);
    const tags = await tagsByName(stateDir);
    const again = await watchCli(args);
    const rollback = await watchCli([...sandboxArgs('rollback', stateDir), '--delete-created',
      '--yes']);
    const rolledBack = await snapshot(stateDir);

    expect(last.code, last.stderr).toBe(0);
    expect(summaryOf(last).outcome).toBe('fixed');
    expect(startedOf(last).isResumed).toBe(true);
    expect(resumed).toEqual([false, ...KILLS.slice(1).map(() => true)]);
    expect([...sessionIds]).toEqual([startedOf(last).sessionId]);
    expect(world).toEqual(reference);
    const sessionTags = { [TAGS.createdBy]: TAGS.createdByValue,
      [TAGS.session]: startedOf(last).sessionId };
    expect(Object.keys(tags).length).toBe(6);
    expect(Object.values(tags).every((each) => isSame(each, sessionTags))).toBe(true);
    expect(summaryOf(again).outcome).toBe('healthy');
    expect(again.events.some((event) => event.type === 'step.started')).toBe(false);
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(rolledBack).toEqual(before);
    const outputs = outputsOf({ ...runs, last, again, rollback });
    expect(await keyLeaks(stateDir, outputs, keys)).toEqual([]);
  }, TIMEOUT);
});
