import type { IncomingMessage } from 'node:http';
import { getNodeAutoInstrumentations, type InstrumentationConfigMap } from '@opentelemetry/auto-instrumentations-node';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { isUntracedRequest } from './untraced-requests';

type InstrumentationName = keyof InstrumentationConfigMap;

/**
 * Every instrumentation that @opentelemetry/auto-instrumentations-node offers, switched on or off here and
 * nowhere else. The type lists all of them, so an upgrade that brings a new one fails the build until it is
 * decided. An explicit `enabled` also wins over OTEL_NODE_ENABLED_INSTRUMENTATIONS / _DISABLED_: which modules
 * get patched is part of the code, not of the deployment.
 */
export const INSTRUMENTATIONS: Readonly<Record<InstrumentationName, boolean>> = {
  // What Warren uses and wants spans (or log correlation) for.
  '@opentelemetry/instrumentation-http': true,
  // OFF: its spans ("router - /v1", "request handler - /v1/users") end at once or repeat the server span, and it
  // wraps every layer of every request to make them. The one thing of use it gave, the route template on the
  // server span (http.route, and the span's name "POST /v1/orders"), the gateway sets itself from its route table
  // (setHttpRoute).
  '@opentelemetry/instrumentation-express': false,
  '@opentelemetry/instrumentation-pg': true,
  '@opentelemetry/instrumentation-ioredis': true,
  '@opentelemetry/instrumentation-pino': true,
  // OFF on purpose: @warren/rpc already starts the messaging spans itself (a CLIENT span per call, a SERVER
  // span per handled message, named after the route) and carries the trace context (and baggage) in the AMQP
  // headers with propagation.inject/extract. Switched on, the amqplib instrumentation adds a second set of
  // spans around the same messages — "publish <default>" PRODUCER and "orders.create process" CONSUMER, and
  // another pair for every reply on amq.rabbitmq.reply-to — and injects its own context into the same
  // headers after ours, so the handler's SERVER span ends up a child of its PRODUCER span instead of the
  // caller's CLIENT span (tried: 29 spans instead of 21 for one POST /v1/orders, the RPC chain broken). The e2e
  // tracing test (test/e2e/tracing.test.ts) checks that each call has exactly one CLIENT and one SERVER span,
  // no PRODUCER/CONSUMER span, and no orphan.
  '@opentelemetry/instrumentation-amqplib': false,
  // Noisy: a span per file access, DNS lookup, socket, pool checkout or async-cached call.
  '@opentelemetry/instrumentation-fs': false,
  '@opentelemetry/instrumentation-dns': false,
  '@opentelemetry/instrumentation-net': false,
  '@opentelemetry/instrumentation-generic-pool': false,
  '@opentelemetry/instrumentation-lru-memoizer': false,
  // Metrics, not traces (Warren's metrics are Prometheus, from prom-client).
  '@opentelemetry/instrumentation-host-metrics': false,
  '@opentelemetry/instrumentation-runtime-node': false,
  // fetch/undici: Warren's services make no outgoing HTTP calls; off so nothing unexpected gets traced.
  '@opentelemetry/instrumentation-undici': false,
  // Libraries Warren does not use: nothing to patch, so nothing to load.
  '@opentelemetry/instrumentation-aws-lambda': false,
  '@opentelemetry/instrumentation-aws-sdk': false,
  '@opentelemetry/instrumentation-bunyan': false,
  '@opentelemetry/instrumentation-cassandra-driver': false,
  '@opentelemetry/instrumentation-connect': false,
  '@opentelemetry/instrumentation-cucumber': false,
  '@opentelemetry/instrumentation-dataloader': false,
  '@opentelemetry/instrumentation-graphql': false,
  '@opentelemetry/instrumentation-grpc': false,
  '@opentelemetry/instrumentation-hapi': false,
  '@opentelemetry/instrumentation-kafkajs': false,
  '@opentelemetry/instrumentation-knex': false,
  '@opentelemetry/instrumentation-koa': false,
  '@opentelemetry/instrumentation-memcached': false,
  '@opentelemetry/instrumentation-mongodb': false,
  '@opentelemetry/instrumentation-mongoose': false,
  '@opentelemetry/instrumentation-mysql': false,
  '@opentelemetry/instrumentation-mysql2': false,
  '@opentelemetry/instrumentation-nestjs-core': false,
  '@opentelemetry/instrumentation-openai': false,
  '@opentelemetry/instrumentation-oracledb': false,
  '@opentelemetry/instrumentation-redis': false,
  '@opentelemetry/instrumentation-restify': false,
  '@opentelemetry/instrumentation-router': false,
  '@opentelemetry/instrumentation-socket.io': false,
  '@opentelemetry/instrumentation-tedious': false,
  '@opentelemetry/instrumentation-winston': false,
};

/** Probes and scrapes: a trace per kubelet probe or Prometheus scrape would drown the real ones. */
const OPS_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

export function isOpsRequest(request: Pick<IncomingMessage, 'url'>): boolean {
  return OPS_PATHS.has((request.url ?? '').split('?')[0] ?? '');
}

const SCRIPT_COMMANDS = /^(eval|evalsha|eval_ro|evalsha_ro|fcall|fcall_ro)$/i;
/** Commands whose first argument is not a key but may be a credential or a value. */
const KEYLESS_COMMANDS = /^(auth|hello|acl|config|client|migrate|echo)$/i;

/**
 * What a Redis span records as db.query.text: the command and the key(s) it touches, never a value, a script
 * or its arguments. (The instrumentation's default keeps every argument of EVAL/EVALSHA — the gateway's
 * idempotency script would put whole recorded responses, bodies included, into the trace.)
 */
export function redisStatement(command: string, args: ReadonlyArray<unknown>): string {
  let keys: unknown[];
  if (SCRIPT_COMMANDS.test(command)) {
    const count = Number(args[1]);
    keys = Number.isInteger(count) && count > 0 ? args.slice(2, 2 + count) : [];
  } else {
    keys = KEYLESS_COMMANDS.test(command) ? [] : args.slice(0, 1);
  }
  return [command, ...keys.map((key) => (Buffer.isBuffer(key) ? key.toString('utf8') : String(key)))].join(' ');
}

/** The configuration given to getNodeAutoInstrumentations: the switches above plus each one's settings. */
export function instrumentationConfig(): InstrumentationConfigMap {
  const config: InstrumentationConfigMap = {};
  for (const [name, enabled] of Object.entries(INSTRUMENTATIONS) as [InstrumentationName, boolean][]) {
    config[name] = { enabled };
  }
  return {
    ...config,
    '@opentelemetry/instrumentation-http': {
      enabled: true,
      ignoreIncomingRequestHook: (request) => isOpsRequest(request) || isUntracedRequest(request),
      // Only calls made while handling something; never a trace of its own for a stray request.
      requireParentforOutgoingSpans: true,
    },
    '@opentelemetry/instrumentation-pg': {
      enabled: true,
      // Readiness checks and migrations run outside any request: no root traces for them.
      requireParentSpan: true,
      // The statement is recorded, its parameter values (user data) are not.
      enhancedDatabaseReporting: false,
      // No `pg-pool.connect` span beside every `pg.query` span: a third of a worker's spans, each serialized and
      // exported, for what the gap before the query span already shows (a wait for a pooled connection).
      ignoreConnectSpans: true,
    },
    '@opentelemetry/instrumentation-ioredis': {
      enabled: true,
      requireParentSpan: true,
      dbStatementSerializer: redisStatement,
    },
    '@opentelemetry/instrumentation-pino': {
      enabled: true,
      // Log correlation only (trace_id, span_id, trace_flags on lines written inside a span). The lines go
      // to stdout as JSON; they are not also sent to an OTLP logs endpoint.
      disableLogSending: true,
    },
  };
}

/** The instrumentations a Warren service runs with (each one enabled, i.e. patching, once created). */
export function warrenInstrumentations(): Instrumentation[] {
  return getNodeAutoInstrumentations(instrumentationConfig());
}
