import { afterEach, describe, expect, it } from 'vitest';

import { DoctorError } from '../../source/engine/errors.js';
import {
  REDACTED,
  clearSecrets,
  containsSecret,
  redact,
  redactDeep,
  registerSecret,
} from '../../source/engine/redact.js';
import { makeAuthKey } from '../helpers/secrets.js';

afterEach(() => clearSecrets());

describe('redact', () => {
  it('removes an auth-key-shaped string nobody registered', () => {
    const key = makeAuthKey();
    const text = `registering with ${key} now`;

    expect(redact(text)).toBe(`registering with ${REDACTED} now`);
    expect(containsSecret(text)).toBe(true);
  });

  it('removes every auth key when several appear', () => {
    const text = `${makeAuthKey()} and "${makeAuthKey('other')}"`;

    expect(redact(text)).toBe(`${REDACTED} and "${REDACTED}"`);
  });

  it('removes bearer access tokens (JWTs)', () => {
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const jwt = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ aud: 'x', exp: 1 })}.c2lnbmF0dXJl`;

    expect(redact(`Authorization: Bearer ${jwt}`)).toBe(`Authorization: Bearer ${REDACTED}`);
    expect(containsSecret(jwt)).toBe(true);
    expect(redact('eyJ is just text here')).toBe('eyJ is just text here');
  });

  it('removes registered secrets and their JSON and URL spellings', () => {
    const secret = 'p@ss"word/with spaces';
    registerSecret(secret);
    const json = JSON.stringify({ password: secret });
    const url = `https://x/?p=${encodeURIComponent(secret)}`;

    expect(redact(`say ${secret}`)).toBe(`say ${REDACTED}`);
    expect(redact(json)).not.toContain('word/with');
    expect(redact(url)).toBe(`https://x/?p=${REDACTED}`);
  });

  it('removes the secret part of a registered auth key even when it appears alone', () => {
    const key = makeAuthKey();
    const tail = key.slice(key.lastIndexOf('@') + 1);
    registerSecret(key);

    expect(redact(`wrapped line: ${tail}`)).toBe(`wrapped line: ${REDACTED}`);
  });

  it('prefers the longer of two overlapping secrets', () => {
    registerSecret('abcd');
    registerSecret('abcdefgh');

    expect(redact('xabcdefghx')).toBe(`x${REDACTED}x`);
  });

  it('ignores values too short to be secrets', () => {
    registerSecret('a');
    registerSecret('');
    registerSecret(undefined);

    expect(redact('a banana')).toBe('a banana');
    expect(containsSecret('a banana')).toBe(false);
  });
});

describe('redactDeep', () => {
  it('redacts strings inside nested objects and arrays without touching the input', () => {
    registerSecret('hunter22');
    const input = { a: ['x hunter22', 3, null], b: { c: 'hunter22', d: true } };

    const output = redactDeep(input);

    expect(output).toEqual({ a: [`x ${REDACTED}`, 3, null], b: { c: REDACTED, d: true } });
    expect(input.b.c).toBe('hunter22');
  });

  it('redacts Error messages and stacks and keeps the error class', () => {
    const key = makeAuthKey();
    const error = new DoctorError({ code: 'x', what: `failed with ${key}`, fix: 'retry' });

    const copy = redactDeep(error);

    expect(copy).toBeInstanceOf(DoctorError);
    expect(copy.message).toBe(`failed with ${REDACTED}`);
    expect(copy.stack ?? '').not.toContain(key);
    expect(copy.info.what).toBe(`failed with ${REDACTED}`);
  });

  it('follows error causes and survives cycles', () => {
    registerSecret('s3cr3t-value');
    const inner = new Error('inner s3cr3t-value');
    const outer = new Error('outer', { cause: inner });
    const cyclic: Record<string, unknown> = { name: 's3cr3t-value' };
    cyclic.self = cyclic;

    const copy = redactDeep({ outer, cyclic });

    expect((copy.outer.cause as Error).message).toBe(`inner ${REDACTED}`);
    expect(copy.cyclic.name).toBe(REDACTED);
    expect(copy.cyclic.self).toBe(copy.cyclic);
  });
});
