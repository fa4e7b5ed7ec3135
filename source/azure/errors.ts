/**
 * Rewrites what the Azure SDKs throw into DoctorErrors a human can act on.
 *
 * Policy, in order: DoctorErrors pass through; the loopback guard is an internal error; an
 * abort is an interruption; identity errors mean "sign in"; RestErrors are mapped by status
 * (401 sign in, 403 the role to grant and its scope, 404 the flag to check, 409, 412, 429,
 * quota, 5xx); network and certificate failures on the workspace dev endpoint get private
 * endpoint and DNS advice (they usually mean `publicNetworkAccess: Disabled`); a failed
 * long-running operation (a plain Error, no status) says which operation failed and why.
 * `isRestError` is used, never `instanceof`: synapse and artifacts throw from a CommonJS copy.
 */
import { isRestError, type RestError } from '@azure/core-rest-pipeline';

import { DoctorError, ExitCode, isDoctorError } from '../engine/errors.js';
import { redact } from '../engine/redact.js';
import { LOOPBACK_GUARD_CODE } from './policies.js';

/** What the caller was doing, for the message. */
export interface ErrorContext {
  /**
   * What the caller was doing, shown in parentheses after what happened: a verb phrase
   * (`update linked service RestService`) or a step title.
   */
  operation: string;
  /** The resource name or id concerned, when there is one. */
  resource?: string;
  /** Which API was called; guessed from the request URL when absent. */
  plane?: 'arm' | 'dev';
  /** Workspace name, for role scopes and dev-endpoint advice. */
  workspace?: string;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'REQUEST_SEND_ERROR',
]);

const CERTIFICATE_CODE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/;

/** What MSAL says when the authority cannot be reached (it hides the network error). */
const SIGN_IN_NETWORK = new RegExp(
  'endpoints_resolution_error|network_error|ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EAI_AGAIN|' +
    'certificate',
  'i',
);

/** Paths only the workspace dev endpoint serves. */
const DEV_PATH = /\/(linkedservices|pipelines|pipelineruns|operationresults|datasets|triggers)/i;

const LRO_FAILED = 'The long-running operation has failed';

/** Maps anything thrown by an SDK call to a DoctorError (see the module doc). */
export function toDoctorError(error: unknown, context: ErrorContext): DoctorError {
  if (isDoctorError(error)) return error;
  if (codeOf(error) === LOOPBACK_GUARD_CODE || messageOf(error).includes('refused a request to')) {
    return guardError(error);
  }
  if (nameOf(error) === 'AbortError') return interrupted(context);
  if (isIdentityError(error)) return fromIdentityError(error, context);
  if (isRestError(error)) return fromRestError(error, context);
  if (messageOf(error).startsWith(LRO_FAILED)) return operationFailed(error, context);
  if (isNetworkError(error)) return unreachable(error, context);
  return unexpected(error, context);
}

function fromIdentityError(error: unknown, context: ErrorContext): DoctorError {
  const message = messageOf(error);
  if (!SIGN_IN_NETWORK.test(message)) return notSignedIn(context, message);

  return make(
    'sign-in-unreachable',
    `Microsoft Entra ID could not be reached to sign in (${context.operation}).`,
    "Check this machine's network, proxy (HTTPS_PROXY) and TLS inspection (NODE_EXTRA_CA_CERTS) " +
      'settings for login.microsoftonline.com, then rerun.',
    ExitCode.blocked,
    message,
  );
}

function fromRestError(error: RestError, context: ErrorContext): DoctorError {
  const status = error.statusCode;
  if (status === undefined) return unreachable(error, context);
  if (status === 401) return notSignedIn(context, error.message);
  if (status === 403) return forbidden(error, context);
  if (status === 404) return notFound(error, context);
  if (status === 409) return conflict(error, context);
  if (status === 412) return etagConflict(error, context);
  if (status === 429) return throttled(error, context);
  if (isQuotaError(error)) return quota(error, context);
  if (status >= 500) return serviceError(error, context);
  return rejected(error, context);
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function nameOf(error: unknown): string {
  return error instanceof Error ? error.name : '';
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : String(error);
}

function isIdentityError(error: unknown): boolean {
  const name = nameOf(error);
  return name === 'CredentialUnavailableError' || name === 'AuthenticationError' ||
    name === 'AggregateAuthenticationError';
}

function isNetworkError(error: unknown): boolean {
  const code = codeOf(error) ?? '';
  return NETWORK_CODES.has(code) || CERTIFICATE_CODE.test(code);
}

function isQuotaError(error: RestError): boolean {
  return /Quota|SkuNotAvailable|OperationNotAllowed/i.test(error.code ?? '');
}

/** Dev endpoint when told so, or when the URL is not an ARM URL. */
function isDevEndpoint(error: unknown, context: ErrorContext): boolean {
  if (context.plane) return context.plane === 'dev';

  const url = requestUrl(error);
  if (!url) return false;
  if (url.hostname.endsWith('.dev.azuresynapse.net')) return true;
  return !url.pathname.includes('/subscriptions/') && DEV_PATH.test(url.pathname);
}

function requestUrl(error: unknown): URL | undefined {
  const raw = (error as { request?: { url?: unknown } } | null)?.request?.url;
  if (typeof raw !== 'string') return undefined;
  try {
    return new URL(raw);
  } catch {
    return undefined;
  }
}

function subject(context: ErrorContext): string {
  return context.resource ?? context.workspace ?? 'the resource';
}

function make(
  code: string,
  what: string,
  fix: string,
  exitCode: ExitCode,
  why?: string,
): DoctorError {
  return new DoctorError({ code, what, why: why ? redact(why) : undefined, fix, exitCode });
}

function guardError(error: unknown): DoctorError {
  return make(
    'sandbox-host-refused',
    'A request in sandbox mode tried to leave this machine and was stopped.',
    'This is a bug in shir-doctor or in the sandbox scenario; report it with the session log.',
    ExitCode.internal,
    messageOf(error),
  );
}

function interrupted(context: ErrorContext): DoctorError {
  return make(
    'interrupted',
    `Interrupted (${context.operation}).`,
    'Run the same command again to resume where it stopped.',
    ExitCode.interrupted,
  );
}

function notSignedIn(context: ErrorContext, why: string): DoctorError {
  return make(
    'not-signed-in',
    `Azure did not accept your sign-in (${context.operation}).`,
    'Sign in with `az login` (add `--tenant <tenant id>` when the workspace lives in another ' +
      'tenant), or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET; then rerun.',
    ExitCode.blocked,
    why,
  );
}

/** Pulls the denied action and scope out of an AuthorizationFailed message. */
export function parseAuthorizationFailure(message: string): { action?: string; scope?: string } {
  const action = /action '([^']+)'/.exec(message)?.[1];
  const scope = /scope '([^']+)'/.exec(message)?.[1];
  return { action, scope };
}

function forbidden(error: RestError, context: ErrorContext): DoctorError {
  const { action, scope } = parseAuthorizationFailure(error.message);
  const fix = isDevEndpoint(error, context)
    ? devEndpointRoleFix(context)
    : armRoleFix(action ?? requestUrl(error)?.pathname ?? '', scope);
  return make(
    'authorization-failed',
    `You do not have permission for this (${context.operation}).`,
    fix,
    ExitCode.blocked,
    error.message,
  );
}

function devEndpointRoleFix(context: ErrorContext): string {
  const workspace = context.workspace ?? 'the workspace';
  return (
    `Ask a Synapse Administrator to grant you the Synapse Administrator role on ${workspace} ` +
    '(Synapse Studio > Manage > Access control), or at least Synapse Contributor and Synapse ' +
    'Credential User; then rerun.'
  );
}

/** The built-in role that covers an ARM action, at the scope Azure named. */
export function armRoleFix(actionOrPath: string, scope?: string): string {
  const role = roleFor(actionOrPath);
  const at = scope ? resourceGroupScope(scope) : 'the resource group';
  return `Ask an Owner or User Access Administrator to grant you ${role} on ${at}; then rerun.`;
}

function roleFor(actionOrPath: string): string {
  const lower = actionOrPath.toLowerCase();
  if (lower.includes('microsoft.compute')) return 'Virtual Machine Contributor';
  if (lower.includes('microsoft.network')) return 'Network Contributor';
  return 'Contributor';
}

function resourceGroupScope(scope: string): string {
  const match = /^(\/subscriptions\/[^/]+\/resourceGroups\/[^/]+)/i.exec(scope);
  return `scope ${match ? match[1] : scope}`;
}

function notFound(error: RestError, context: ErrorContext): DoctorError {
  const code = error.code ?? '';
  let fix = `Check that ${subject(context)} exists and that --workspace and --resource-group ` +
    'name it correctly.';
  if (/ResourceGroupNotFound/i.test(code)) fix = 'Check the --resource-group name.';
  if (/SubscriptionNotFound|InvalidSubscriptionId/i.test(code)) {
    fix = 'Check the --subscription id, and that `az account list` shows it.';
  }
  const what = `${subject(context)} was not found (${context.operation}).`;
  return make('not-found', what, fix, ExitCode.blocked, error.message);
}

function conflict(error: RestError, context: ErrorContext): DoctorError {
  return make(
    'conflict',
    `Azure reported a conflict on ${subject(context)} (${context.operation}).`,
    'Another operation is probably still running on it: wait a few minutes and rerun; the ' +
      'session resumes where it stopped.',
    ExitCode.applyFailed,
    error.message,
  );
}

function etagConflict(error: RestError, context: ErrorContext): DoctorError {
  return make(
    'etag-conflict',
    `${subject(context)} changed since shir-doctor read it, so it was not overwritten.`,
    'Someone else edited it meanwhile: rerun shir-doctor to read the current definition and ' +
      'plan again.',
    ExitCode.applyFailed,
    error.message,
  );
}

function throttled(error: RestError, context: ErrorContext): DoctorError {
  return make(
    'throttled',
    `Azure kept throttling the requests, even after retries (${context.operation}).`,
    'Wait a few minutes and rerun; the session resumes where it stopped.',
    ExitCode.applyFailed,
    error.message,
  );
}

function quota(error: RestError, context: ErrorContext): DoctorError {
  return make(
    'quota',
    `Azure refused to create ${subject(context)}: a quota or size is not available.`,
    'Request a quota increase (Azure portal > Quotas) or choose another VM size or region; ' +
      'then rerun.',
    ExitCode.blocked,
    error.message,
  );
}

function serviceError(error: RestError, context: ErrorContext): DoctorError {
  return make(
    'service-error',
    `Azure failed with status ${error.statusCode} (${context.operation}).`,
    'This is usually temporary: rerun in a few minutes; the session resumes where it stopped.',
    ExitCode.applyFailed,
    error.message,
  );
}

function rejected(error: RestError, context: ErrorContext): DoctorError {
  const label = [error.statusCode, error.code].filter(Boolean).join(' ');
  return make(
    'request-rejected',
    `Azure rejected the request with ${label} (${context.operation}).`,
    'Read the reason above; if it names a setting of the workspace, fix it there and rerun.',
    ExitCode.applyFailed,
    error.message,
  );
}

function operationFailed(error: unknown, context: ErrorContext): DoctorError {
  const why = messageOf(error).slice(LRO_FAILED.length).replace(/^[.\s]+/, '');
  return make(
    'operation-failed',
    `Azure accepted the request, but the operation failed (${context.operation}).`,
    `Check the Activity log of ${subject(context)} in the Azure portal; rerun to try again ` +
      '(the session resumes).',
    ExitCode.applyFailed,
    why || messageOf(error),
  );
}

function unreachable(error: unknown, context: ErrorContext): DoctorError {
  const why = `${codeOf(error) ?? 'network error'}: ${messageOf(error)}`;
  const isCertificate = CERTIFICATE_CODE.test(codeOf(error) ?? '');
  if (isDevEndpoint(error, context)) return devEndpointUnreachable(context, why, isCertificate);

  const fix = isCertificate
    ? 'A proxy is inspecting TLS: set NODE_EXTRA_CA_CERTS to its CA certificate and rerun.'
    : 'Check this machine\'s network and proxy (HTTPS_PROXY) settings, then rerun.';
  return make('azure-unreachable', `Azure could not be reached (${context.operation}).`,
    fix, ExitCode.blocked, why);
}

function devEndpointUnreachable(
  context: ErrorContext,
  why: string,
  isCertificate: boolean,
): DoctorError {
  const workspace = context.workspace ?? 'the workspace';
  const proxy = isCertificate
    ? ' If a proxy inspects TLS, set NODE_EXTRA_CA_CERTS to its CA.'
    : '';
  return make(
    'dev-endpoint-unreachable',
    `The development endpoint of ${workspace} could not be reached (${context.operation}).`,
    'If public network access is disabled, run shir-doctor from a network that reaches the ' +
      "workspace's private endpoint for the Dev sub-resource, and check that " +
      `privatelink.dev.azuresynapse.net resolves to its private IP.${proxy}`,
    ExitCode.blocked,
    why,
  );
}

function unexpected(error: unknown, context: ErrorContext): DoctorError {
  return make(
    'azure-call-failed',
    `An Azure call failed unexpectedly (${context.operation}).`,
    'Rerun shir-doctor; if it fails again, report it with the session log.',
    ExitCode.applyFailed,
    messageOf(error),
  );
}
