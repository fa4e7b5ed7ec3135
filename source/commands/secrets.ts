/**
 * Where the real value of a masked secret comes from, so a rewrite can keep it.
 *
 * The service returns SecureString values as `**********`; writing that back would destroy the
 * secret, so the core asks a SecretSource with the key `<linkedService>:<JSON pointer under
 * properties>`. Order in Azure mode, first answer wins:
 *
 * 1. `--secrets-file FILE`: a JSON object keyed exactly like that.
 * 2. The environment: `SHIR_DOCTOR_SECRET_<LINKEDSERVICE>_<FIELD>` (`secretEnvName`, e.g.
 *    `RestService:/typeProperties/authHeaders/x-api-key` reads
 *    `SHIR_DOCTOR_SECRET_RESTSERVICE_X_API_KEY`).
 * 3. A hidden prompt, only when a human is at the keyboard.
 *
 * In sandbox mode the emulator knows the values an admin would type. Every value found is
 * registered with the redactor before it is handed on.
 */
import { readFile } from 'node:fs/promises';
import { DoctorError, ExitCode } from '../engine/errors.js';
import { CANCELLED, type SessionUI } from '../engine/events.js';
import { registerSecret } from '../engine/redact.js';
import type { SecretSource } from '../remediation/context.js';
import { secretEnvName } from '../remediation/rewire.js';

/** The one naming rule, shared with the error that tells the admin which variable to set. */
export { secretEnvName };

/** Answers from a fixed table (the sandbox's admin secrets). */
export function tableSecrets(values: Record<string, string>): SecretSource {
  return {
    async resolve(key) {
      return remember(values[key]);
    },
  };
}

/** Where Azure-mode secrets may come from, and whether a human may be asked. */
export interface AzureSecretOptions {
  secretsFile?: string;
  env: NodeJS.ProcessEnv;
  ui: SessionUI;
  isInteractive: boolean;
}

/** File, then environment, then a hidden prompt (interactive only). */
export async function azureSecrets(options: AzureSecretOptions): Promise<SecretSource> {
  const file = options.secretsFile === undefined ? {} : await readSecretsFile(options.secretsFile);

  return {
    async resolve(key) {
      const known = file[key] ?? options.env[secretEnvName(key)];
      if (known !== undefined && known !== '') return remember(known);
      if (!options.isInteractive) return undefined;

      const typed = await options.ui.askSecret(`Value of ${key} (the service returns it masked)`);

      return typed === CANCELLED || typed === '' ? undefined : remember(typed);
    },
  };
}

async function readSecretsFile(path: string): Promise<Record<string, string>> {
  const parsed = await readJson(path);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw secretsFileError(path, 'it is not a JSON object of strings');
  }
  // The key is named so the admin finds the entry; its value is a secret and is not shown.
  const wrong = Object.keys(parsed).find((key) => typeof parsed[key as never] !== 'string');
  if (wrong !== undefined) {
    throw secretsFileError(path, `the value of "${wrong}" is not a string`);
  }
  for (const value of Object.values(parsed)) registerSecret(value as string);

  return parsed as Record<string, string>;
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch (error) {
    throw secretsFileError(path, error instanceof Error ? error.message : String(error));
  }
}

function secretsFileError(path: string, why: string): DoctorError {
  return new DoctorError({
    code: 'secrets-file-invalid',
    what: `The secrets file ${path} cannot be used.`,
    why,
    fix: 'Pass --secrets-file with a JSON object such as ' +
      '{"RestService:/typeProperties/password": "..."}.',
    exitCode: ExitCode.usage,
  });
}

function remember(value: string | undefined): string | undefined {
  if (value !== undefined) registerSecret(value);

  return value;
}
