import { Counter, Gauge, Histogram, register as defaultRegistry, type Registry } from 'prom-client';

/** Outcome label of a finished call. */
export type CallOutcome = 'ok' | 'error' | 'timeout' | 'no_route' | 'unavailable' | 'aborted' | 'invalid';

// Sub-millisecond buckets: a loopback round trip is about a millisecond.
const DURATION_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface RpcMetrics {
  clientDuration: DurationRecorder;
  /** Clients add themselves here so the in-flight gauge can count their pending calls. */
  clientInFlightSources: Set<InFlightSource>;
  clientTimeouts: Counter<'route'>;
  /** Calls refused because the client's `maxInFlight` were in flight (`*`: refused on a request's arrival). */
  clientShed: Counter<'route'>;
  /** Replies that matched no pending call: `late` (its call had settled) or `unknown` (not a correlation id of ours). */
  clientUnmatchedReplies: Counter<'reason'>;
  /** Requests held before publishing because the channel's write buffer was full. */
  clientPublishesHeld: Counter<'route'>;
  serverDuration: DurationRecorder;
  serverInFlightSources: Set<InFlightSource>;
  serverExpired: Counter<'route'>;
  /** Handled requests that ended in an error, by route and error code (`internal` for an unexpected throw). */
  serverErrors: Counter<'route' | 'code'>;
  serverDeadLettered: Counter<'route' | 'reason'>;
  /** Consumers the broker cancelled (queue deleted, node lost), each then consumed again. */
  serverConsumerCancellations: Counter<'route'>;
  /** Replies held before publishing because the channel's write buffer was full. */
  serverRepliesHeld: Counter<'route'>;
  /** Servers add themselves here so the dead-letter gauge can ask the broker about their routes' queues. */
  deadLetterSources: Set<DeadLetterSource>;
}

/** Reports, when Prometheus scrapes, how many calls of each route are in flight. */
export type InFlightSource = () => Iterable<readonly [route: string, count: number]>;

/** Reports, when Prometheus scrapes, how many messages each dead-letter queue of a server's routes holds. */
export type DeadLetterSource = () => Promise<Iterable<readonly [queue: string, messages: number]>>;

type DurationChild = ReturnType<Histogram<'route' | 'outcome'>['labels']>;

/**
 * Histogram children cached by route and outcome: prom-client hashes a label
 * object on every observe, a measurable share of a loopback call.
 */
export class DurationRecorder {
  private readonly children = new Map<string, DurationChild>();

  constructor(private readonly histogram: Histogram<'route' | 'outcome'>) {}

  observe(route: string, outcome: string, seconds: number): void {
    const key = `${route} ${outcome}`;
    let child = this.children.get(key);
    if (!child) {
      child = this.histogram.labels({ route, outcome });
      this.children.set(key, child);
    }
    child.observe(seconds);
  }
}

// In-flight gauges are filled at scrape time from their sources rather than moved on every call.
function inFlightGauge(name: string, help: string, registry: Registry, sources: Set<InFlightSource>): Gauge<'route'> {
  return new Gauge({
    name,
    help,
    labelNames: ['route'],
    registers: [registry],
    collect() {
      const counts = new Map<string, number>();
      for (const source of sources) {
        for (const [route, count] of source()) counts.set(route, (counts.get(route) ?? 0) + count);
      }
      this.reset();
      for (const [route, count] of counts) this.set({ route }, count);
    },
  });
}

const metricsByRegistry = new WeakMap<Registry, RpcMetrics>();

/** The RPC metrics registered on `registry`, created once per registry. */
export function rpcMetrics(registry: Registry = defaultRegistry): RpcMetrics {
  const existing = metricsByRegistry.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const clientInFlightSources = new Set<InFlightSource>();
  const serverInFlightSources = new Set<InFlightSource>();
  const deadLetterSources = new Set<DeadLetterSource>();
  inFlightGauge('rpc_client_in_flight', 'RPC calls waiting for their reply.', registry, clientInFlightSources);
  inFlightGauge('rpc_server_in_flight', 'RPC requests being handled.', registry, serverInFlightSources);
  new Gauge({
    name: 'rpc_dead_letter_messages',
    help: 'Messages in the dead-letter queue of each route this process serves, asked of the broker at scrape time.',
    labelNames: ['queue'],
    registers,
    async collect() {
      const reports = await Promise.all([...deadLetterSources].map((source) => source()));
      this.reset();
      for (const report of reports) for (const [queue, messages] of report) this.set({ queue }, messages);
    },
  });
  const metrics: RpcMetrics = {
    clientDuration: new DurationRecorder(
      new Histogram({
        name: 'rpc_client_duration_seconds',
        help: 'RPC calls made by this process, from publish to reply, by route and outcome.',
        labelNames: ['route', 'outcome'],
        buckets: DURATION_BUCKETS,
        registers,
      }),
    ),
    clientInFlightSources,
    clientTimeouts: new Counter({
      name: 'rpc_client_timeouts_total',
      help: 'RPC calls that reached their deadline without a reply.',
      labelNames: ['route'],
      registers,
    }),
    clientShed: new Counter({
      name: 'rpc_client_shed_total',
      help: 'RPC calls refused at once because maxInFlight calls were in flight, by route (* when refused on arrival).',
      labelNames: ['route'],
      registers,
    }),
    clientUnmatchedReplies: new Counter({
      name: 'rpc_client_unmatched_replies_total',
      help: 'Replies that matched no pending call: late (the call had already timed out or been aborted) or unknown (a correlation id this client never sent).',
      labelNames: ['reason'],
      registers,
    }),
    clientPublishesHeld: new Counter({
      name: 'rpc_client_publishes_held_total',
      help: "RPC requests held before publishing because the channel's write buffer was full (a slow or flow-controlled broker); each is sent on the channel's drain, or never if its deadline passes first.",
      labelNames: ['route'],
      registers,
    }),
    serverDuration: new DurationRecorder(
      new Histogram({
        name: 'rpc_server_duration_seconds',
        help: 'RPC requests handled by this process, from delivery to reply, by route and outcome.',
        labelNames: ['route', 'outcome'],
        buckets: DURATION_BUCKETS,
        registers,
      }),
    ),
    serverInFlightSources,
    serverExpired: new Counter({
      name: 'rpc_server_expired_total',
      help: 'RPC requests dropped unprocessed because their deadline had passed.',
      labelNames: ['route'],
      registers,
    }),
    serverErrors: new Counter({
      name: 'rpc_server_errors_total',
      help: 'RPC requests answered with an error, by route and error code: tells not_found from internal or unavailable.',
      labelNames: ['route', 'code'],
      registers,
    }),
    serverDeadLettered: new Counter({
      name: 'rpc_server_dead_lettered_total',
      help: 'RPC requests dead-lettered because they could not be decoded or validated.',
      labelNames: ['route', 'reason'],
      registers,
    }),
    serverConsumerCancellations: new Counter({
      name: 'rpc_server_consumer_cancellations_total',
      help: 'Route consumers the broker cancelled (the queue deleted, the node holding it lost); each is declared and consumed again.',
      labelNames: ['route'],
      registers,
    }),
    serverRepliesHeld: new Counter({
      name: 'rpc_server_replies_held_total',
      help: "RPC replies held before publishing because the channel's write buffer was full; each is sent, and its request acked, on the channel's drain.",
      labelNames: ['route'],
      registers,
    }),
    deadLetterSources,
  };
  metricsByRegistry.set(registry, metrics);
  return metrics;
}
