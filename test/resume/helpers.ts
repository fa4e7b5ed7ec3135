/**
 * Helpers for the resume, rollback and Ctrl-C tests: run the BUILT CLI as a child process,
 * watch its JSON event lines and kill it when a predicate matches; then open the persisted
 * sandbox world of the same state folder to count what exists and read the stored bodies.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';

import type { DoctorEvent, SessionSummary } from '../../source/engine/events.js';
import { readJournal, sessionDirectory } from '../../source/engine/journal.js';
import { writeDefinition } from '../../source/remediation/definitions.js';
import { AUTH_KEY_PATTERN } from '../../source/wire/guest.js';
import { startTestSandbox, stored, type TestSandbox } from '../helpers/sandbox.js';
import { CLI, readTree, ROOT } from '../e2e/cli.js';

export { ensureBuilt, readTree, runCli } from '../e2e/cli.js';
export { stored } from '../helpers/sandbox.js';

/** A finished child run of the CLI. */
export interface WatchedRun {
  /** Exit code, or null when a signal ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
  events: DoctorEvent[];
  stdout: string;
  stderr: string;
  /** The first event at which a signal was ordered, if one was. */
  killedAt?: DoctorEvent;
}

/**
 * A signal to send: at once, some real milliseconds after the matching event, or as soon as
 * `until` resolves true (polled every 20 ms).
 */
export type KillOrder =
  | NodeJS.Signals
  | { signal: NodeJS.Signals; afterMs: number }
  | { signal: NodeJS.Signals; until: () => Promise<boolean> };

/** Tells `watchCli` when to send which signal (asked for every event); undefined: none. */
export type KillRule = (event: DoctorEvent) => KillOrder | undefined;

/** Runs the CLI with pipes; sends the signals `rule` orders as events arrive. */
export function watchCli(args: string[], rule?: KillRule): Promise<WatchedRun> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT,
    env: { ...process.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const run: WatchedRun = { code: null, signal: null, events: [], stdout: '', stderr: '' };
  let pending = '';
  child.stdin.end();
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => (run.stderr += text));
  child.stdout.on('data', (text: string) => {
    run.stdout += text;
    pending += text;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) onEvent(JSON.parse(line) as DoctorEvent);
  });

  function onEvent(event: DoctorEvent): void {
    run.events.push(event);
    const order = rule?.(event);
    if (order === undefined) return;

    run.killedAt ??= event;
    if (typeof order === 'string') child.kill(order);
    else if ('afterMs' in order) setTimeout(() => child.kill(order.signal), order.afterMs);
    else void killWhen(order.until, () => child.kill(order.signal), () => isRunning);
  }
  let isRunning = true;
  child.on('close', () => (isRunning = false));

  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ ...run, code, signal }));
  });
}

async function killWhen(
  until: () => Promise<boolean>,
  kill: () => void,
  isRunning: () => boolean,
): Promise<void> {
  while (isRunning()) {
    if (await until().catch(() => false)) {
      kill();
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The sandbox flags every run uses, on one state folder. */
export function sandboxArgs(command: string, stateDir: string, timeScale = 0): string[] {
  return [command, '--sandbox', '--json', '--time-scale', String(timeScale),
    '--state-dir', stateDir];
}

const stateDirs: string[] = [];

/** A new, empty state folder; `removeStateDirs` deletes every one this file made. */
export async function freshStateDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'shir-resume-'));
  stateDirs.push(dir);
  return dir;
}

/** Deletes the state folders `freshStateDir` made (call in afterAll). */
export async function removeStateDirs(): Promise<void> {
  const dirs = stateDirs.splice(0);
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
}

/** The session.started event of a run. */
export function startedOf(run: WatchedRun): Extract<DoctorEvent, { type: 'session.started' }> {
  const started = run.events.find((event) => event.type === 'session.started');
  if (started?.type !== 'session.started') throw new Error(`no session.started:\n${run.stderr}`);

  return started;
}

/** The closing summary of a run; throws with stderr when there is none. */
export function summaryOf(run: WatchedRun): SessionSummary {
  const last = run.events.at(-1);
  if (last?.type !== 'session.finished') throw new Error(`no session.finished:\n${run.stderr}`);

  return last.summary;
}

/**
 * A new state folder in which one uninterrupted `fix --yes` ran through the built CLI; asserts
 * that it fixed (call `ensureBuilt` first).
 */
export async function fixedStateDir(): Promise<string> {
  const stateDir = await freshStateDir();
  const run = await watchCli([...sandboxArgs('fix', stateDir), '--yes']);
  expect(summaryOf(run).outcome, run.stderr).toBe('fixed');
  return stateDir;
}

/** What the persisted world holds, as the tests compare it. */
export interface WorldSnapshot {
  /** Names per kind of ARM resource in the resource group, sorted. */
  names: Record<string, string[]>;
  /** Self-hosted runtimes and their node names. */
  nodes: Record<string, string[]>;
  /** Stored (unmasked) `properties` of every linked service, by name. */
  linkedServices: Record<string, unknown>;
  /** Stored `properties` of every pipeline, by name. */
  pipelines: Record<string, unknown>;
}

/** Serialises a world's definitions: equal strings mean equal bytes, key order included. */
export function definitionsJson(world: WorldSnapshot): string {
  return JSON.stringify({ linkedServices: world.linkedServices, pipelines: world.pipelines });
}

/** Opens the world the CLI left in `stateDir` and runs `work` on it. */
export async function withWorld<T>(
  stateDir: string,
  work: (box: TestSandbox, dev: ReturnType<TestSandbox['clients']['artifacts']>) => Promise<T>,
): Promise<T> {
  const box = await startTestSandbox({ stateDir: join(stateDir, 'sandbox') });
  try {
    const { resourceGroup, workspaceName } = box.target;
    const workspace = await box.clients.synapse.workspaces.get(resourceGroup, workspaceName);
    return await work(box, box.clients.artifacts(workspace.connectivityEndpoints!.dev!));
  } finally {
    await box.cleanup();
  }
}

/** Reads the world in `stateDir` through the SDK and `peek`. */
export function snapshot(stateDir: string): Promise<WorldSnapshot> {
  return withWorld(stateDir, async (box, dev) => {
    const rg = box.target.resourceGroup;
    const { clients } = box;
    const names: WorldSnapshot['names'] = {
      vm: await namesOf(clients.compute.virtualMachines.list(rg)),
      nic: await namesOf(clients.network.networkInterfaces.list(rg)),
      vnet: await namesOf(clients.network.virtualNetworks.list(rg)),
      nsg: await namesOf(clients.network.networkSecurityGroups.list(rg)),
      nat: await namesOf(clients.network.natGateways.list(rg)),
      publicIp: await namesOf(clients.network.publicIPAddresses.list(rg)),
    };
    return { names, nodes: await nodesOf(box), ...(await definitionsOf(box, dev)) };
  });
}

async function namesOf(pages: AsyncIterable<{ name?: string }>): Promise<string[]> {
  const names: string[] = [];
  for await (const item of pages) names.push(item.name ?? '');

  return names.sort();
}

async function nodesOf(box: TestSandbox): Promise<Record<string, string[]>> {
  const { resourceGroup, workspaceName } = box.target;
  const nodes: Record<string, string[]> = {};
  const runtimes = box.clients.synapse.integrationRuntimes
    .listByWorkspace(resourceGroup, workspaceName);
  for await (const runtime of runtimes) {
    if (runtime.properties.type !== 'SelfHosted') continue;

    const stored = box.sandbox.peek(`${runtime.id}#runtime`) as
      { nodes?: { nodeName: string }[] } | undefined;
    nodes[runtime.name!] = (stored?.nodes ?? []).map((node) => node.nodeName).sort();
  }
  return nodes;
}

type DevClient = ReturnType<TestSandbox['clients']['artifacts']>;

async function definitionsOf(
  box: TestSandbox,
  dev: DevClient,
): Promise<Pick<WorldSnapshot, 'linkedServices' | 'pipelines'>> {
  const linkedServices: Record<string, unknown> = {};
  const pipelines: Record<string, unknown> = {};
  for await (const item of dev.linkedServiceOperations.listLinkedServicesByWorkspace()) {
    linkedServices[item.name!] = stored(box, 'linkedservices', item.name!);
  }
  for await (const item of dev.pipelineOperations.listPipelinesByWorkspace()) {
    pipelines[item.name!] = stored(box, 'pipelines', item.name!);
  }
  return { linkedServices, pipelines };
}

/** PUTs a linked service's stored properties, changed by `edit`, through the SDK. */
export async function editLinkedService(
  stateDir: string,
  name: string,
  edit: (properties: Record<string, unknown>) => void,
): Promise<Record<string, unknown>> {
  return withWorld(stateDir, async (box, dev) => {
    const properties = stored(box, 'linkedservices', name) as Record<string, unknown>;
    edit(properties);
    await writeDefinition(dev, 'linked-service', name, properties);
    return properties;
  });
}

/** The auth keys the emulator issued for every self-hosted runtime in `stateDir`'s world. */
export function issuedKeys(stateDir: string): Promise<string[]> {
  return withWorld(stateDir, async (box) => {
    const { resourceGroup, workspaceName } = box.target;
    const synapse = box.clients.synapse;
    const keys: string[] = [];
    for await (const runtime of synapse.integrationRuntimes
      .listByWorkspace(resourceGroup, workspaceName)) {
      if (runtime.properties.type !== 'SelfHosted') continue;

      const pair = await synapse.integrationRuntimeAuthKeysOperations
        .list(resourceGroup, workspaceName, runtime.name!);
      keys.push(...[pair.authKey1, pair.authKey2].filter((key): key is string => !!key));
    }
    return keys;
  });
}

/**
 * Names of the artefacts that hold an auth-key-shaped string, one of `keys`, or a key's
 * secret part: every file the sessions wrote under `stateDir` (the emulator's own world in
 * sandbox/ stands in for Azure, which does hold the key) and the given outputs.
 */
export async function keyLeaks(
  stateDir: string,
  outputs: Record<string, string>,
  keys: string[],
): Promise<string[]> {
  const texts: Record<string, string> = { ...outputs };
  for (const [path, text] of Object.entries(await readTree(stateDir))) {
    if (!path.startsWith(join(stateDir, 'sandbox'))) texts[path] = text;
  }
  const needles = keys.flatMap((key) => [key, key.split('@').at(-1) ?? key]);

  return Object.entries(texts)
    .filter(([, text]) => new RegExp(AUTH_KEY_PATTERN.source).test(text) ||
      needles.some((needle) => text.includes(needle)))
    .map(([name]) => name);
}

/** stdout and stderr of runs, named for a leak report. */
export function outputsOf(runs: Record<string, WatchedRun>): Record<string, string> {
  const outputs: Record<string, string> = {};
  for (const [name, run] of Object.entries(runs)) {
    outputs[`${name} stdout`] = run.stdout;
    outputs[`${name} stderr`] = run.stderr;
  }
  return outputs;
}

/** The tags of every VM and network resource in the resource group, by name. */
export function tagsByName(stateDir: string): Promise<Record<string, Record<string, string>>> {
  return withWorld(stateDir, async (box) => {
    const rg = box.target.resourceGroup;
    const { compute, network } = box.clients;
    const lists: AsyncIterable<{ name?: string; tags?: Record<string, string> }>[] = [
      compute.virtualMachines.list(rg), network.networkInterfaces.list(rg),
      network.virtualNetworks.list(rg), network.networkSecurityGroups.list(rg),
      network.natGateways.list(rg), network.publicIPAddresses.list(rg),
    ];
    const tags: Record<string, Record<string, string>> = {};
    for (const list of lists) {
      for await (const item of list) tags[item.name ?? ''] = item.tags ?? {};
    }
    return tags;
  });
}

/**
 * True once the journal of `sessionId` holds a change matching `kind action` (and `name`, when
 * given) that has no outcome yet: the change is in flight.
 */
export async function isInFlight(
  stateDir: string,
  sessionId: string | undefined,
  label: string,
  name?: RegExp,
): Promise<boolean> {
  if (!sessionId) return false;

  const journal = await readJournal(sessionDirectory(stateDir, sessionId));
  return journal.uncertain.some(({ change }) => `${change.kind} ${change.action}` === label &&
    (name === undefined || name.test(change.name)));
}
