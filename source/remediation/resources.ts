/**
 * Small shared rules for the host steps: how an Azure change is journaled, how an ARM id is
 * read, which tags a created resource carries, and how long waits are tuned.
 *
 * Journal policy: `intend` is written before the request leaves, `conclude` after it settles,
 * with the error text (redacted by the journal) when it failed. Nothing secret is ever passed
 * in an intent: only kind, name and ARM id.
 */
import { toDoctorError } from '../azure/errors.js';
import { isDoctorError } from '../engine/errors.js';
import type { ChangeIntent, Journal } from '../engine/step.js';
import { TAGS } from '../wire/guest.js';
import type { FixContext, InfrastructureTuning } from './context.js';

/** The parts of an ARM id the host steps need. */
export interface ArmIdParts {
  subscriptionId: string;
  resourceGroup: string;
  /** Last segment: the resource's own name. */
  name: string;
  /** Name of the parent for a child resource (the VNet of a subnet), else undefined. */
  parentName?: string;
}

/** Reads `/subscriptions/{s}/resourceGroups/{rg}/providers/{ns}/{type}/{name}[/{t}/{n}]`. */
export function parseArmId(id: string): ArmIdParts {
  const parts = id.split('/').filter((part) => part.length > 0);
  const at = (key: string): string | undefined => {
    const index = parts.findIndex((part) => part.toLowerCase() === key.toLowerCase());
    return index >= 0 ? parts[index + 1] : undefined;
  };

  const providerIndex = parts.findIndex((part) => part.toLowerCase() === 'providers');
  const tail = providerIndex >= 0 ? parts.slice(providerIndex + 2) : [];
  const isChild = tail.length >= 4;
  return {
    subscriptionId: at('subscriptions') ?? '',
    resourceGroup: at('resourceGroups') ?? '',
    name: parts[parts.length - 1] ?? '',
    parentName: isChild ? tail[1] : undefined,
  };
}

/** Builds an ARM id in the target's resource group. */
export function armId(context: FixContext, provider: string, path: string): string {
  const { subscriptionId, resourceGroup } = context.target;
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}` +
    `/providers/${provider}/${path}`;
}

/** Tags every resource shir-doctor creates carries. */
export function creationTags(journal: Journal): Record<string, string> {
  return { [TAGS.createdBy]: TAGS.createdByValue, [TAGS.session]: journal.sessionId };
}

/** True when a resource carries our created-by tag. */
export function isCreatedByUs(tags: Record<string, string> | undefined): boolean {
  return tags?.[TAGS.createdBy] === TAGS.createdByValue;
}

const DEFAULT_TUNING: Required<Omit<InfrastructureTuning, 'scriptsDir'>> = {
  onlineDeadlineMs: 10 * 60_000,
  pollIntervalMs: 1_000,
  installRetryDelaysMs: [30_000, 60_000, 120_000],
};

/** The tuning in effect: the context's overrides on top of the real-Azure defaults. */
export function tuningOf(context: FixContext): Required<Omit<InfrastructureTuning, 'scriptsDir'>> {
  return { ...DEFAULT_TUNING, ...stripUndefined(context.tuning ?? {}) };
}

/**
 * Tuning for the embedded emulator, whose guest registers a node in about 3 s × timeScale:
 * the same policy with waits shrunk to match, so a stalled node (F11) or a busy MSI (F10) is
 * reported in seconds, not minutes. Real Azure keeps the defaults.
 */
export function sandboxTuning(timeScale = 1): InfrastructureTuning {
  const scale = Math.max(0, timeScale);
  return {
    onlineDeadlineMs: Math.max(2_000, 30_000 * scale),
    pollIntervalMs: Math.max(50, 500 * scale),
    installRetryDelaysMs: [1_000, 2_000, 4_000].map((ms) => ms * scale),
  };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(value).filter(([, item]) => item !== undefined),
  ) as Partial<T>;
}

/**
 * Runs one Azure change between a journal intent and its outcome. SDK errors become
 * DoctorErrors naming the operation and the resource.
 */
export async function journaled<T>(
  journal: Journal,
  intent: ChangeIntent,
  operation: string,
  change: () => Promise<T>,
): Promise<T> {
  const intentId = await journal.intend(intent);
  try {
    const result = await change();
    await journal.conclude(intentId, { isOk: true });
    return result;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    await journal.conclude(intentId, { isOk: false, error: message });
    throw asDoctorError(error, operation, intent.name);
  }
}

/** Keeps DoctorErrors as they are; maps everything else through the azure error mapper. */
export function asDoctorError(error: unknown, operation: string, resource?: string): Error {
  if (isDoctorError(error)) return error;

  return toDoctorError(error, { operation, resource });
}

/** True for an ARM 404 (RestError or anything carrying statusCode 404). */
export function isNotFound(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;

  const status = (error as { statusCode?: unknown }).statusCode;
  return status === 404;
}

/** Resolves after `ms`, or rejects at once when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason ?? new Error('aborted'));
      return;
    }
    const timer = setTimeout(done, ms);
    function done(): void {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort(): void {
      clearTimeout(timer);
      reject(signal?.reason ?? new Error('aborted'));
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
