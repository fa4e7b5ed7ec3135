import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { azureSecrets, secretEnvName, tableSecrets } from '../../source/commands/secrets.js';
import { CANCELLED, type SessionUI } from '../../source/engine/events.js';
import { clearSecrets, redact } from '../../source/engine/redact.js';

const key = 'RestService:/typeProperties/authHeaders/x-api-key';

function fakeUi(answer: string | typeof CANCELLED): SessionUI & { asked: string[] } {
  const asked: string[] = [];

  return {
    asked,
    emit: () => {},
    approve: async () => false,
    confirm: async () => false,
    askSecret: vi.fn(async (question: string) => {
      asked.push(question);
      return answer;
    }),
  };
}

afterEach(() => clearSecrets());

describe('secret sources', () => {
  it('names the environment variable after the linked service and the field', () => {
    expect(secretEnvName(key)).toBe('SHIR_DOCTOR_SECRET_RESTSERVICE_X_API_KEY');
    expect(secretEnvName('Sql-Db:/typeProperties/password')).toBe(
      'SHIR_DOCTOR_SECRET_SQL_DB_PASSWORD',
    );
  });

  it('answers from the sandbox table and registers the value with the redactor', async () => {
    const value = await tableSecrets({ [key]: 'sandbox-admin-value' }).resolve(key);

    expect(value).toBe('sandbox-admin-value');
    expect(redact('header sandbox-admin-value')).not.toContain('sandbox-admin-value');
  });

  it('prefers the secrets file, then the environment, then asks when interactive', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shir-secrets-'));
    const file = join(dir, 'secrets.json');
    await writeFile(file, JSON.stringify({ [key]: 'from-file-value' }));
    const env = { SHIR_DOCTOR_SECRET_HTTPSERVER_PASSWORD: 'from-env-value' };
    const ui = fakeUi('typed-value');
    const source = await azureSecrets({ secretsFile: file, env, ui, isInteractive: true });

    expect(await source.resolve(key)).toBe('from-file-value');
    expect(await source.resolve('HttpServer:/typeProperties/password')).toBe('from-env-value');
    expect(await source.resolve('Other:/typeProperties/password')).toBe('typed-value');
    expect(ui.asked).toHaveLength(1);
    expect(redact('typed-value from-file-value')).not.toMatch(/typed-value|from-file-value/);
  });

  it('never asks when nobody is at the keyboard, and treats a cancel as unknown', async () => {
    const quiet = fakeUi('typed-value');
    const headless = await azureSecrets({ env: {}, ui: quiet, isInteractive: false });
    const cancelled = await azureSecrets({
      env: {}, ui: fakeUi(CANCELLED), isInteractive: true,
    });

    expect(await headless.resolve(key)).toBeUndefined();
    expect(quiet.asked).toEqual([]);
    expect(await cancelled.resolve(key)).toBeUndefined();
  });

  it('refuses a secrets file that is not a JSON object of strings, naming the flag', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shir-secrets-'));
    const file = join(dir, 'bad.json');
    await writeFile(file, '["x"]');

    await expect(azureSecrets({ secretsFile: file, env: {}, ui: fakeUi(''), isInteractive: false }))
      .rejects.toMatchObject({ info: { fix: expect.stringContaining('--secrets-file') } });
  });

  it('names the entry whose value is not a string, without showing any value', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shir-secrets-'));
    const file = join(dir, 'typed.json');
    await writeFile(file, JSON.stringify({ 'A:/ok': 'Visible-Secret-1', 'B:/port': 8443 }));

    const error = await azureSecrets({ secretsFile: file, env: {}, ui: fakeUi(''),
      isInteractive: false }).catch((caught: unknown) => caught);

    expect(error).toMatchObject({ info: { why: expect.stringContaining('"B:/port"') } });
    expect(JSON.stringify(error)).not.toContain('Visible-Secret-1');
    expect(JSON.stringify(error)).not.toContain('8443');
  });
});
