import './telemetry';
import type { Server } from 'node:http';
import { hostname } from 'node:os';
import { RpcClient } from '@warren/rpc';
import {
  createLogger,
  createMetricsRegistry,
  drainHttpServer,
  exitGracefullyOnSignals,
  exitOnStartupFailure,
  type Logger,
} from '@warren/service-kit';
import { doNotTraceRequestsWhen, shutdownTelemetry } from '@warren/telemetry';
import { createApp } from './app';
import { createTokenVerifier } from './auth/token-verifier';
import { loadConfig } from './config';
import { EventLoopDelayMonitor } from './overload/event-loop-delay';
import { LoadShedder } from './overload/load-shedder';
import { closeRedis, createRedis } from './redis';

let logger: Logger | undefined;

async function main(): Promise<void> {
  const config = loadConfig();
  logger = createLogger({ service: 'gateway', level: config.logLevel, pretty: config.logPretty });
  const registry = createMetricsRegistry('gateway');
  const connectionName = `gateway-${hostname()}-${process.pid}`;

  const redis = createRedis(config.redisUrl, logger);
  const rpc = new RpcClient({
    url: config.amqpUrl,
    connectionName: `${connectionName}-client`,
    defaultTimeoutMs: config.rpcTimeoutMs,
    // Load shedding: past MAX_IN_FLIGHT_RPC calls in flight, a request is refused at once (503, Retry-After).
    maxInFlight: config.maxInFlightRpc,
    // A stopped worker's queue keeps messages: refuse its calls at once (503) rather than wait for the deadline.
    failFastWithoutConsumer: true,
    logger,
    registry,
  });
  await rpc.start();

  // Off (0, the default): no timer waking the process every 10 ms, no decision made on every request.
  let shedder: LoadShedder | undefined;
  if (config.maxEventLoopDelayMs > 0) {
    const eventLoopDelay = new EventLoopDelayMonitor();
    eventLoopDelay.start();
    const active = new LoadShedder({ eventLoopDelay, maxEventLoopDelayMs: config.maxEventLoopDelayMs });
    doNotTraceRequestsWhen((request) => active.refusalDelayOf(request) !== undefined);
    shedder = active;
  }
  const tokenVerifier = config.auth ? createTokenVerifier(config.auth) : undefined;
  if (!tokenVerifier)
    logger.warn('AUTH_DISABLED=true: the API is open to any client, acting as an admin (SECURITY.md)');
  const app = createApp({ config, rpc, redis, registry, logger, shedder, tokenVerifier });
  const server = await new Promise<Server>((resolve, reject) => {
    const listening = app.listen(config.port, config.host, (error?: Error) =>
      error ? reject(error) : resolve(listening),
    );
  });
  logger.info({ host: config.host, port: config.port }, 'gateway listening');

  const log = logger;
  exitGracefullyOnSignals(
    log,
    [
      // Answers every request in flight, moving kept-alive clients to another instance, before RPC goes away.
      { name: 'http server', run: () => drainHttpServer(server) },
      { name: 'rpc client', run: () => rpc.close() },
      { name: 'redis', run: () => closeRedis(redis) },
      // Last, so that the spans of the requests drained above are exported too.
      { name: 'telemetry', run: () => shutdownTelemetry() },
    ],
    config.shutdownTimeoutMs,
  );
}

main().catch((error: unknown) => exitOnStartupFailure(logger, error));
