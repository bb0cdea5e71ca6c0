import { resolve } from 'node:path';
import {
  UsageError,
  loopbackUrl,
  measurementSettings,
  nonNegativeInteger,
  parseFlags,
  positiveInteger,
  positiveNumber,
  roleOf,
  type MeasurementSettings,
} from '../core/command-line';
import type { CellOperation } from './compare';

export type Mode = 'compare' | 'soak' | 'stress';
export type TracesSetting = 'jaeger' | 'none';

/** The process a person starts: it starts everything else and reports. */
export const MAIN_ROLE = 'orchestrator';
/** The processes it forks of this same program (see environment.ts). */
export const CHILD_ROLES = ['generator', 'floor-http', 'floor-worker', 'floor-orders-worker'] as const;
export type ChildRole = (typeof CHILD_ROLES)[number];

/** The rows of the default run, named by the RPC route each request ends in (--routes), in the order measured. */
export const ROUTES = {
  'users.create': 'create',
  'users.get': 'get',
  'orders.create': 'order',
} as const satisfies Record<string, CellOperation>;
export type RouteName = keyof typeof ROUTES;
const ROUTE_NAMES = Object.keys(ROUTES) as RouteName[];

export interface FullPathConfig extends MeasurementSettings {
  mode: Mode;
  concurrencies: readonly number[];
  /** The rows of the default run (--routes): POST and GET /v1/users, POST /v1/orders. */
  operations: readonly CellOperation[];
  /** The default run's report as GitHub markdown instead of text (a job summary). */
  markdown: boolean;
  soakSeconds: number;
  /** Arrival rate of the soak; by default half of the capacity measured just before. */
  soakRate: number | undefined;
  stressSeconds: number;
  /** MAX_IN_FLIGHT_RPC for the gateway; the gateway's own default when not given. */
  maxInFlight: number | undefined;
  traces: TracesSetting;
  /** Where `node --cpu-prof` writes the services' profiles; no profiling when not given. */
  cpuProfileDir: string | undefined;
  seedUsers: number;
  keepLogs: boolean;
  /** Extra environment per service (`all` for every one), for experiments: what does logging cost? */
  serviceEnvironment: Record<string, Record<string, string>>;
  amqpUrl: string;
  managementUrl: string;
  databaseUrl: string;
  /** The orders worker's database (warren_orders), for the floor's orders worker and the clean-up. */
  ordersDatabaseUrl: string;
  redisUrl: string;
}

export type ParsedCommandLine = { role: ChildRole } | { role: typeof MAIN_ROLE; config: FullPathConfig };

const DEFAULTS = {
  amqpUrl: 'amqp://warren:warren@127.0.0.1:5672',
  managementUrl: 'http://127.0.0.1:15672',
  databaseUrl: 'postgres://warren:warren@127.0.0.1:5432/warren_users',
  ordersDatabaseUrl: 'postgres://warren:warren@127.0.0.1:5432/warren_orders',
  redisUrl: 'redis://127.0.0.1:6379',
};
// Redis database of the benchmark's gateway: its cache, rate-limit counters and idempotency keys stay apart
// from those of any other gateway on this Redis (the key prefix is fixed).
const BENCH_REDIS_DATABASE = 9;

export const USAGE = `usage: npm run bench -- [options]   (node packages/bench/dist/full-path-bench.js [options])
  default             full path against the floor: POST and GET /v1/users, POST /v1/orders (orders worker,
                      users.get to the users worker, INSERT) at concurrency 1, 16 and 64
    --seconds N         measurement window per implementation and cell (default 5)
    --warmup-seconds N  requests made and discarded before each window (default 1)
    --rounds N          measure every cell N times and report the median (default 1)
    --concurrency LIST  comma-separated concurrencies (default 1,16,64)
    --routes LIST       comma-separated rows, by RPC route: ${ROUTE_NAMES.join(', ')} (default: all)
    --markdown          print the report as GitHub markdown (for a job summary) instead of text
  --soak              constant arrival rate for a while; the gateway's memory before and after
    --soak-seconds N    how long (default 300)
    --soak-rate N       requests/s (default: half the capacity measured just before)
  --stress            arrival rate ramped to 3x the measured capacity: shed, accepted, latency, memory
    --stress-seconds N  ramp and hold together (default 30)
  --max-in-flight N   the gateway's MAX_IN_FLIGHT_RPC (default: the gateway's default)
  --traces jaeger|none  export spans to a local Jaeger v2 (default, when built: scripts/tools.sh jaeger)
                      or create them and export nothing (OTEL_TRACES_EXPORTER=none)
  --cpu-prof DIR      profile the gateway, the users and the orders worker (node --cpu-prof) into DIR
  --seed-users N      users inserted before the run, to read and to place orders for (default 40000)
  --service-env S:K=V extra environment for service S (gateway, users, orders or all), repeatable;
                      for experiments, e.g. --service-env gateway:LOG_LEVEL=warn
  --keep-logs         keep the services' log file (default: deleted after a successful run)
  --json              also print one final line with every figure as JSON
Environment: AMQP_URL, RABBITMQ_MANAGEMENT_URL, USERS_DATABASE_URL, ORDERS_DATABASE_URL, REDIS_URL (local defaults);
all on loopback.`;

export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv): ParsedCommandLine {
  const values = parseFlags(argv, {
    concurrency: { type: 'string', default: '1,16,64' },
    routes: { type: 'string' },
    markdown: { type: 'boolean', default: false },
    soak: { type: 'boolean', default: false },
    'soak-seconds': { type: 'string', default: '300' },
    'soak-rate': { type: 'string' },
    stress: { type: 'boolean', default: false },
    'stress-seconds': { type: 'string', default: '30' },
    'max-in-flight': { type: 'string' },
    traces: { type: 'string', default: 'jaeger' },
    'cpu-prof': { type: 'string' },
    'seed-users': { type: 'string', default: '40000' },
    'keep-logs': { type: 'boolean', default: false },
    'service-env': { type: 'string', multiple: true },
  });
  const role = roleOf(values.role, MAIN_ROLE, CHILD_ROLES);
  // A child is told everything else by the orchestrator when it starts.
  if (role !== MAIN_ROLE) return { role };
  if (values.soak && values.stress) throw new UsageError('--soak and --stress are separate runs');
  if ((values.soak || values.stress) && (values.routes !== undefined || values.markdown)) {
    throw new UsageError('--routes and --markdown are for the default run, not --soak or --stress');
  }
  const traces = values.traces;
  if (traces !== 'jaeger' && traces !== 'none') throw new UsageError(`--traces must be jaeger or none, not ${traces}`);
  const config: FullPathConfig = {
    mode: values.soak ? 'soak' : values.stress ? 'stress' : 'compare',
    ...measurementSettings(values),
    concurrencies: concurrencyList(values.concurrency),
    operations: routeList(values.routes),
    markdown: values.markdown,
    soakSeconds: positiveNumber('--soak-seconds', values['soak-seconds']),
    soakRate: values['soak-rate'] === undefined ? undefined : positiveNumber('--soak-rate', values['soak-rate']),
    stressSeconds: positiveNumber('--stress-seconds', values['stress-seconds']),
    maxInFlight:
      values['max-in-flight'] === undefined ? undefined : positiveInteger('--max-in-flight', values['max-in-flight']),
    traces,
    cpuProfileDir: values['cpu-prof'] === undefined ? undefined : resolve(values['cpu-prof']),
    seedUsers: nonNegativeInteger('--seed-users', values['seed-users']),
    keepLogs: values['keep-logs'],
    serviceEnvironment: parseServiceEnvironment(values['service-env'] ?? []),
    amqpUrl: loopback('AMQP_URL', env.AMQP_URL ?? DEFAULTS.amqpUrl),
    managementUrl: loopback('RABBITMQ_MANAGEMENT_URL', env.RABBITMQ_MANAGEMENT_URL ?? DEFAULTS.managementUrl),
    databaseUrl: loopback('USERS_DATABASE_URL', env.USERS_DATABASE_URL ?? DEFAULTS.databaseUrl),
    ordersDatabaseUrl: loopback('ORDERS_DATABASE_URL', env.ORDERS_DATABASE_URL ?? DEFAULTS.ordersDatabaseUrl),
    redisUrl: withRedisDatabase(loopback('REDIS_URL', env.REDIS_URL ?? DEFAULTS.redisUrl)),
  };
  return { role, config };
}

const SERVICES = ['gateway', 'users', 'orders', 'all'];

function parseServiceEnvironment(entries: readonly string[]): Record<string, Record<string, string>> {
  const environment: Record<string, Record<string, string>> = {};
  for (const entry of entries) {
    const match = /^([a-z]+):([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(entry);
    if (!match || !SERVICES.includes(match[1]!)) {
      throw new UsageError(`--service-env takes SERVICE:NAME=VALUE with SERVICE one of ${SERVICES.join(', ')}`);
    }
    (environment[match[1]!] ??= {})[match[2]!] = match[3]!;
  }
  return environment;
}

/** The variable's value, checked to point at loopback. */
function loopback(variable: string, value: string): string {
  loopbackUrl(variable, value);
  return value;
}

function withRedisDatabase(value: string): string {
  const url = new URL(value);
  url.pathname = `/${BENCH_REDIS_DATABASE}`;
  return url.toString();
}

function concurrencyList(text: string): number[] {
  const list = text.split(',').map((item) => positiveInteger('--concurrency', item.trim()));
  return [...new Set(list)].sort((a, b) => a - b);
}

/** The operations of the routes named, in the order of ROUTES (users created first: they are read next). */
function routeList(text: string | undefined): CellOperation[] {
  if (text === undefined) return Object.values(ROUTES);
  const names = text.split(',').map((item) => item.trim());
  for (const name of names) {
    if (!(ROUTE_NAMES as string[]).includes(name)) {
      throw new UsageError(`--routes takes a list of ${ROUTE_NAMES.join(', ')}, not ${name}`);
    }
  }
  return ROUTE_NAMES.filter((name) => names.includes(name)).map((name) => ROUTES[name]);
}
