/**
 * Starts the embedded Azure emulator: one HTTPS server on 127.0.0.1 that serves Entra ID, ARM
 * (Synapse, Compute, Network) and the workspace dev endpoints, plus a plain HTTP partner API on
 * 127.0.0.1 that stands in for the internet. Handler order: faults, throttling, Entra (no auth),
 * the bearer check, settling of due work (run commands, operations), then the routes.
 */
import type { SandboxHandle, SandboxOptions } from './api.js';
import { ArmResources } from './arm.js';
import { loadOrCreateCert } from './cert.js';
import { compute } from './compute.js';
import { devEndpoint, findSecrets } from './dev.js';
import { AUDIENCE, Entra } from './entra.js';
import { Faults, Throttle } from './faults.js';
import type { Ctx, Handler } from './http.js';
import { Internet } from './internet.js';
import { network } from './network.js';
import { Operations } from './operations.js';
import { Pipelines } from './pipelines.js';
import { RequestLog } from './request-log.js';
import { loadScenario, type Scenario } from './scenario.js';
import { startFront } from './server.js';
import { synapse } from './synapse.js';
import { savedScenario, World } from './world.js';

export type { SandboxHandle, SandboxOptions } from './api.js';

/** Starts the sandbox; close the handle to stop it. */
export async function startSandbox(options: SandboxOptions): Promise<SandboxHandle> {
  const timeScale = options.timeScale ?? 1;
  const scenario = scenarioFor(options);
  const world = new World(options.stateDir, scenario, options.reset ?? false);
  const tls = await loadOrCreateCert(options.stateDir);
  const adminSecrets = secretsOf(world.scenario);
  const entra = new Entra(world.scenario.identity, world.state.signingKey);
  const internet = new Internet(world.scenario.internet ?? {},
    () => Object.values(adminSecrets), timeScale);
  await internet.start();

  const routes = buildRoutes({ world, entra, internet, options, timeScale });
  const log = options.requestLogPath
    ? new RequestLog(options.requestLogPath, adminSecrets) : undefined;
  const front = await startFront(tls, () => routes, log && ((c, r) => log.write(c, r)))
    .catch(async (e: unknown) => {
      await internet.close();
      throw e;
    });

  return {
    endpoint: front.base,
    caPem: tls.cert,
    caPath: tls.certPath,
    authorityHost: front.base,
    ...world.scenario.identity,
    target: { ...world.scenario.target },
    demoApiUrl: internet.url,
    adminSecrets,
    peek: (pathOrId) => peek(world, pathOrId),
    issueToken: (scope, lifetime) => entra.issue(scope, lifetime),
    close: async () => {
      await Promise.all([front.close(), internet.close()]);
      world.close();
      log?.close();
    },
  };
}

/**
 * The named scenario; without one, the saved world's (kept as it is, or started again on
 * reset), else F01. A reset does not need the saved world to be readable.
 */
function scenarioFor(options: SandboxOptions): Scenario {
  if (options.scenario !== undefined) return loadScenario(options.scenario);
  const saved = options.reset === true
    ? tryQuietly(() => savedScenario(options.stateDir))
    : savedScenario(options.stateDir);
  return saved ?? loadScenario('F01');
}

function tryQuietly<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

interface RouteDeps {
  world: World;
  entra: Entra;
  internet: Internet;
  options: SandboxOptions;
  timeScale: number;
}

/** The handler chain, in the order the module doc gives. */
function buildRoutes(deps: RouteDeps): Handler[] {
  const { world, entra, internet, options, timeScale } = deps;
  const operations = new Operations(world, timeScale);
  const arm = new ArmResources(world, operations, options.pageSize ?? 10);
  const faults = new Faults([...(world.scenario.faults ?? []),
    ...(options.faultsFile ? Faults.readFile(options.faultsFile) : [])]);
  const throttle = world.scenario.throttle ? new Throttle(world.scenario.throttle) : undefined;
  const runner = new Pipelines(world, internet, timeScale);
  const vms = compute({ world, arm, operations, timeScale });
  network(world, arm);

  return [
    faults.handler(),
    ...(throttle ? [throttle.handler()] : []),
    entra.handler(),
    (ctx) => authGate(entra, ctx),
    () => settle(world, () => vms.settle() || operations.settle()),
    operations.handler(),
    devEndpoint({ world, arm, runner, timeScale }),
    synapse({ world, arm }),
    vms.handler,
    arm.handler(),
  ];
}

function authGate(entra: Entra, ctx: Ctx) {
  const first = ctx.path.split('/')[1]?.toLowerCase();
  if (first === 'subscriptions') return entra.check(ctx, AUDIENCE.arm);
  if (first === 'dev') return entra.check(ctx, AUDIENCE.dev);
  return undefined;
}

function settle(world: World, work: () => boolean): undefined {
  let changed = false;
  while (work()) changed = true;
  if (changed) world.save();
  return undefined;
}

/** The real values of the scenario's SecureStrings, keyed `<linkedService>:<pointer>`. */
function secretsOf(scenario: Scenario): Record<string, string> {
  const secrets: Record<string, string> = {};
  for (const content of Object.values(scenario.workspaces ?? {})) {
    for (const ls of content.linkedServices ?? []) {
      for (const [pointer, value] of findSecrets(ls.properties)) {
        secrets[`${ls.name}:${pointer.replace(/\/value$/, '')}`] = value;
      }
    }
  }
  return secrets;
}

function peek(world: World, pathOrId: string): unknown {
  const [path, facet] = pathOrId.split('#');
  if (facet === 'runtime') return clone(world.state.runtimes[path.toLowerCase()]);
  if (facet === 'guest') return clone(world.state.guests[path.toLowerCase()]);

  const dev = path.match(/^\/dev\/([^/]+)\/(linkedservices|pipelines|pipelineruns)\/([^/]+)$/i);
  if (!dev) return clone(world.get(path));
  const ws = world.dev(dev[1]);
  const kind = dev[2].toLowerCase();
  if (kind === 'pipelineruns') return clone(ws.runs[dev[3]]);
  const store = kind === 'linkedservices' ? ws.linkedServices : ws.pipelines;
  return clone(store[dev[3].toLowerCase()]);
}

function clone<T>(value: T): T {
  return value === undefined ? value : structuredClone(value);
}
