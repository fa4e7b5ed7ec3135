#!/usr/bin/env node
/**
 * Times shir-doctor against the embedded sandbox and prints the figures.
 *
 * Runs the built CLI (dist/cli.js) as a user would, in a fresh temporary state folder:
 *   1. start-up: `--version`
 *   2. first fix: `fix --sandbox --sandbox-reset --yes --json` (does the whole repair)
 *   3. second fix: the same without reset (must find nothing to do)
 *   4. verify: `verify --sandbox --json`
 * and reports wall time, time to the first event, exit code, events, retries and the slowest
 * steps. Only 127.0.0.1 is involved: the sandbox is the only "Azure" the CLI talks to.
 *
 * Usage: node scripts/bench.mjs [--runs N] [--time-scale N] [--scenario ID] [--json]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli.js');

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '1' },
    'time-scale': { type: 'string', default: '0' },
    scenario: { type: 'string', default: 'F01' },
    json: { type: 'boolean', default: false },
  },
});

/** Runs the CLI once; resolves with timings and the parsed JSON events. */
function runCli(args) {
  return new Promise((resolve) => {
    const started = performance.now();
    let firstEventMs;
    let buffer = '';
    const events = [];
    const env = { ...process.env, FORCE_COLOR: '0' };
    delete env.CI;
    const stdio = ['ignore', 'pipe', 'pipe'];
    const child = spawn(process.execPath, [cli, ...args], { env, stdio });

    child.stdout.on('data', (chunk) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) collect(line);
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    child.on('close', (code) => {
      collect(buffer);
      const lastLine = stderr.trim().split('\n').pop() ?? '';
      resolve({ ms: performance.now() - started, firstEventMs, exitCode: code, events, lastLine });
    });

    function collect(line) {
      if (!line.trim().startsWith('{')) return;
      try {
        events.push(JSON.parse(line));
        firstEventMs ??= performance.now() - started;
      } catch {
        // Not an event line.
      }
    }
  });
}

function summarise(name, run) {
  const count = (type) => run.events.filter((event) => event.type === type).length;
  const finished = run.events.find((event) => event.type === 'session.finished');
  const steps = run.events
    .filter((event) => event.type === 'step.succeeded' || event.type === 'step.failed')
    .sort((a, b) => b.elapsedMs - a.elapsedMs)
    .slice(0, 3)
    .map((event) => `${event.stepId} ${Math.round(event.elapsedMs)} ms`);
  return {
    name,
    wallMs: Math.round(run.ms),
    firstEventMs: run.firstEventMs === undefined ? undefined : Math.round(run.firstEventMs),
    exitCode: run.exitCode,
    outcome: finished?.summary?.outcome,
    events: run.events.length,
    stepsDone: count('step.succeeded'),
    stepsFailed: count('step.failed'),
    retries: count('retry'),
    slowest: steps.join(', '),
    note: run.exitCode === 0 ? undefined : run.lastLine.slice(0, 120),
  };
}

async function benchOnce(timeScale, scenario) {
  const stateDir = mkdtempSync(join(tmpdir(), 'shir-bench-'));
  const sandbox = ['--sandbox', '--state-dir', stateDir, '--time-scale', timeScale];
  try {
    return [
      summarise('start-up (--version)', await runCli(['--version'])),
      summarise('fix, first run', await runCli(['fix', ...sandbox, '--sandbox-reset',
        '--scenario', scenario, '--yes', '--json'])),
      summarise('fix, second run', await runCli(['fix', ...sandbox, '--yes', '--json'])),
      summarise('verify', await runCli(['verify', ...sandbox, '--json'])),
    ];
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
}

function median(numbers) {
  const sorted = numbers.filter((n) => n !== undefined).sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor(sorted.length / 2)] : undefined;
}

function combine(runs) {
  return runs[0].map((first, index) => ({
    ...first,
    wallMs: median(runs.map((run) => run[index].wallMs)),
    firstEventMs: median(runs.map((run) => run[index].firstEventMs)),
    runs: runs.length,
  }));
}

function printTable(rows) {
  const columns = ['name', 'wallMs', 'firstEventMs', 'exitCode', 'outcome', 'events',
    'stepsDone', 'stepsFailed', 'retries', 'slowest'];
  const text = (row, column) => (row[column] === undefined ? '-' : String(row[column]));
  const widths = columns.map((column) =>
    Math.max(column.length, ...rows.map((row) => text(row, column).length)));
  const line = (cells) => cells.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd();
  process.stdout.write(`${line(columns)}\n${line(widths.map((w) => '-'.repeat(w)))}\n`);
  for (const row of rows) process.stdout.write(`${line(columns.map((c) => text(row, c)))}\n`);
  for (const row of rows.filter((r) => r.note)) {
    process.stdout.write(`\n${row.name} ended ${row.exitCode}: ${row.note}`);
  }
  process.stdout.write('\n');
}

async function main() {
  if (!existsSync(cli)) {
    process.stderr.write('dist/cli.js is missing: run `npm run build` first.\n');
    process.exit(2);
  }
  const runs = Math.max(1, Number.parseInt(values.runs, 10) || 1);
  const results = [];
  for (let i = 0; i < runs; i += 1) results.push(await benchOnce(values['time-scale'],
    values.scenario));
  const rows = combine(results);

  if (values.json) {
    process.stdout.write(`${JSON.stringify({ node: process.version, runs, rows }, null, 2)}\n`);
    return;
  }
  process.stdout.write(`shir-doctor bench: Node ${process.version}, ${runs} run(s), ` +
    `time scale ${values['time-scale']}, scenario ${values.scenario}; medians in ms\n\n`);
  printTable(rows);
}

await main();
