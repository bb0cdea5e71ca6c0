import { Counter, Gauge, Histogram, register as defaultRegistry, type Registry } from 'prom-client';

/** Outcome label of a finished call. */
export type CallOutcome = 'ok' | 'error' | 'timeout' | 'no_route' | 'unavailable' | 'aborted' | 'invalid';

// Sub-millisecond buckets: a loopback round trip is about a millisecond.
const DURATION_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface RpcMetrics {
  clientDuration: Histogram<'route' | 'outcome'>;
  clientInFlight: Gauge<'route'>;
  clientTimeouts: Counter<'route'>;
  serverDuration: Histogram<'route' | 'outcome'>;
  serverInFlight: Gauge<'route'>;
  serverExpired: Counter<'route'>;
  serverDeadLettered: Counter<'route' | 'reason'>;
}

const metricsByRegistry = new WeakMap<Registry, RpcMetrics>();

/** The RPC metrics registered on `registry`, created once per registry. */
export function rpcMetrics(registry: Registry = defaultRegistry): RpcMetrics {
  const existing = metricsByRegistry.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const metrics: RpcMetrics = {
    clientDuration: new Histogram({
      name: 'rpc_client_duration_seconds',
      help: 'RPC calls made by this process, from publish to reply, by route and outcome.',
      labelNames: ['route', 'outcome'],
      buckets: DURATION_BUCKETS,
      registers,
    }),
    clientInFlight: new Gauge({
      name: 'rpc_client_in_flight',
      help: 'RPC calls waiting for their reply.',
      labelNames: ['route'],
      registers,
    }),
    clientTimeouts: new Counter({
      name: 'rpc_client_timeouts_total',
      help: 'RPC calls that reached their deadline without a reply.',
      labelNames: ['route'],
      registers,
    }),
    serverDuration: new Histogram({
      name: 'rpc_server_duration_seconds',
      help: 'RPC requests handled by this process, from delivery to reply, by route and outcome.',
      labelNames: ['route', 'outcome'],
      buckets: DURATION_BUCKETS,
      registers,
    }),
    serverInFlight: new Gauge({
      name: 'rpc_server_in_flight',
      help: 'RPC requests being handled.',
      labelNames: ['route'],
      registers,
    }),
    serverExpired: new Counter({
      name: 'rpc_server_expired_total',
      help: 'RPC requests dropped unprocessed because their deadline had passed.',
      labelNames: ['route'],
      registers,
    }),
    serverDeadLettered: new Counter({
      name: 'rpc_server_dead_lettered_total',
      help: 'RPC requests dead-lettered because they could not be decoded or validated.',
      labelNames: ['route', 'reason'],
      registers,
    }),
  };
  metricsByRegistry.set(registry, metrics);
  return metrics;
}
