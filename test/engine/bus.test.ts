import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { createEventBus, createMemorySink } from '../../source/engine/bus.js';
import type { DoctorEvent } from '../../source/engine/events.js';
import { REDACTED, clearSecrets, registerSecret } from '../../source/engine/redact.js';
import { openSessionLog } from '../../source/engine/session-log.js';
import { makeAuthKey } from '../helpers/secrets.js';

const fixedNow = () => new Date('2026-01-02T03:04:05.000Z');
const dirs: string[] = [];

afterEach(() => {
  clearSecrets();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('createEventBus', () => {
  it('stamps the time and delivers the same event to every sink', () => {
    const first = createMemorySink();
    const second = createMemorySink();
    const bus = createEventBus([first.sink, second.sink], { now: fixedNow });

    const event = bus.emit({ type: 'log', level: 'info', message: 'hello' });

    const at = fixedNow().toISOString();
    expect(event).toEqual({ type: 'log', level: 'info', message: 'hello', at });
    expect(first.events).toEqual([event]);
    expect(second.events).toEqual([event]);
  });

  it('redacts secrets and auth keys deep inside events', () => {
    const key = makeAuthKey();
    registerSecret('linked-service-password');
    const memory = createMemorySink();
    const bus = createEventBus([memory.sink]);

    bus.emit({
      type: 'step.failed',
      stepId: 'install',
      elapsedMs: 5,
      error: { code: 'x', what: `output: ${key}`, fix: 'linked-service-password', exitCode: 5 },
    });

    const text = JSON.stringify(memory.events);
    expect(text).not.toContain(key);
    expect(text).not.toContain('linked-service-password');
    expect(text).toContain(REDACTED);
  });

  it('keeps delivering when a sink throws, and reports the failure', () => {
    const memory = createMemorySink();
    const failures: unknown[] = [];
    const broken = () => {
      throw new Error('presenter crashed');
    };
    const bus = createEventBus([broken, memory.sink], { onSinkError: (e) => failures.push(e) });

    bus.emit({ type: 'log', level: 'info', message: 'one' });
    bus.emit({ type: 'log', level: 'info', message: 'two' });

    expect(memory.events.map((e) => (e.type === 'log' ? e.message : ''))).toEqual(['one', 'two']);
    expect(failures).toHaveLength(2);
  });

  it('adds and removes sinks through subscribe', () => {
    const memory = createMemorySink();
    const bus = createEventBus([]);

    const unsubscribe = bus.subscribe(memory.sink);
    bus.emit({ type: 'log', level: 'info', message: 'seen' });
    unsubscribe();
    bus.emit({ type: 'log', level: 'info', message: 'unseen' });

    expect(memory.events).toHaveLength(1);
  });
});

describe('openSessionLog', () => {
  it('appends one JSON line per event, redacted, across reopen', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shir-log-'));
    dirs.push(dir);
    const path = join(dir, 'nested', 'session.log');
    const key = makeAuthKey();

    const log = openSessionLog(path);
    const bus = createEventBus([log.sink]);
    bus.emit({ type: 'log', level: 'info', message: 'first' });
    log.sink({ type: 'log', level: 'warn', message: `raw ${key}`, at: 'now' } as DoctorEvent);
    log.close();
    const again = openSessionLog(path);
    again.debug('sdk said', { status: 429 });
    again.close();

    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[0]).message).toBe('first');
    expect(JSON.parse(lines[1]).message).toBe(`raw ${REDACTED}`);
    expect(JSON.parse(lines[2])).toMatchObject({ level: 'debug', detail: { status: 429 } });
  });

  it('ignores events after close', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shir-log-'));
    dirs.push(dir);
    const log = openSessionLog(join(dir, 'session.log'));

    log.close();
    log.sink({ type: 'log', level: 'info', message: 'late', at: 'now' } as DoctorEvent);

    expect(readFileSync(join(dir, 'session.log'), 'utf8')).toBe('');
  });
});
