import type { ServerResponse } from 'node:http';
import type { Logger } from '@warren/service-kit';
import cors from 'cors';
import express, { type Express } from 'express';
import helmet from 'helmet';
import { stdSerializers } from 'pino';
import { pinoHttp } from 'pino-http';
import type { Registry } from 'prom-client';
import { UserCache } from './cache/user-cache';
import type { GatewayConfig } from './config';
import { problemErrorHandler } from './errors/error-mapping';
import { RouteNotFoundError } from './errors/http-errors';
import { createReadinessProbe, healthz, readyz } from './health';
import { idempotency } from './middleware/idempotency';
import { metricsMiddleware, registerRedisGauge } from './middleware/metrics';
import { createRateLimiter } from './middleware/rate-limit';
import { requestDeadline } from './middleware/request-deadline';
import { requestId } from './middleware/request-id';
import { jsonBody } from './middleware/validation';
import { docsRouter } from './openapi/docs-page';
import { buildOpenApiDocument } from './openapi/openapi-document';
import { isRedisReady, type Redis } from './redis';
import { contractRoutes, type GatewayRoutes, type GatewayRpcClient } from './routes/gateway-routes';
import { ordersRouter } from './routes/orders-routes';
import { RouteAvailability } from './routes/route-availability';
import { RpcAdmission } from './routes/rpc-admission';
import type { RouteContext } from './routes/route-kit';
import { usersRouter } from './routes/users-routes';

export type AppConfig = Pick<
  GatewayConfig,
  | 'rpcTimeoutMs'
  | 'bodyLimit'
  | 'cacheTtlSeconds'
  | 'idempotencyTtlSeconds'
  | 'rateLimitPerMinute'
  | 'rateLimitWindowMs'
  | 'maxInFlightRpc'
  | 'corsOrigins'
  | 'trustProxy'
>;

export interface AppDependencies {
  config: AppConfig;
  rpc: GatewayRpcClient;
  redis: Redis;
  registry: Registry;
  logger: Logger;
  /** The RPC routes to call; the contracts' routes unless a test brings uniquely named copies. */
  routes?: GatewayRoutes;
  /** Prefix of every Redis key the app writes (cache, idempotency, rate limit). */
  redisKeyPrefix?: string;
  /** How long a readiness result, and a route's consumer count, is reused. */
  readinessCacheMs?: number;
}

const OPS_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** Builds the gateway's express app from its dependencies; it does not listen. */
export function createApp(deps: AppDependencies): Express {
  const { config, redis, registry, logger } = deps;
  const routes = deps.routes ?? contractRoutes;
  const prefix = deps.redisKeyPrefix ?? 'warren:gateway:';
  const redisUp = () => isRedisReady(redis);

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.set('query parser', 'simple');
  app.set('etag', false);

  app.use(requestId());
  app.use(metricsMiddleware(registry));
  registerRedisGauge(registry, redisUp);
  app.use(helmet());
  if (config.corsOrigins.length > 0) {
    app.use(
      cors({
        origin: config.corsOrigins,
        exposedHeaders: [
          'X-Request-Id',
          'Retry-After',
          'RateLimit',
          'RateLimit-Policy',
          'Idempotent-Replayed',
          'X-Cache',
          'Location',
        ],
      }),
    );
  }
  const admission = new RpcAdmission(config.maxInFlightRpc, registry);
  // The deadline starts when the request is accepted; then load shedding on arrival, before the access log and
  // everything else a request costs (see RpcAdmission).
  app.use('/v1', requestDeadline(config.rpcTimeoutMs), admission.shedOnArrival());
  app.use(
    pinoHttp({
      logger,
      genReqId: (req) => req.id,
      // The per-request logger is bound to `requestId`, the name every service's log lines use.
      customAttributeKeys: { reqId: 'requestId' },
      // 503/504 are a dependency's state, already logged as warnings; only a 500 is a bug.
      customLogLevel: (_req, res, error) =>
        error || res.statusCode === 500 ? 'error' : res.statusCode >= 500 ? 'warn' : 'info',
      autoLogging: { ignore: (req) => OPS_PATHS.has((req.url ?? '').split('?')[0] ?? '') },
      quietReqLogger: true,
      // The access log line has the request as pino-http logs it (method, url, headers with credentials
      // redacted, remote address) and the response's status code. Not the response's headers: the same
      // static set on every response (helmet's), they were a kilobyte of every line to serialize and redact.
      wrapSerializers: false,
      serializers: {
        req: stdSerializers.req,
        res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
        err: stdSerializers.err,
      },
    }),
  );

  // Operations endpoints: never rate limited.
  const availability = new RouteAvailability(deps.rpc, deps.readinessCacheMs ?? 1000);
  const readiness = createReadinessProbe({
    rpc: deps.rpc,
    routes,
    availability,
    redisUp,
    cacheMs: deps.readinessCacheMs,
  });
  app.get('/healthz', healthz);
  app.get('/readyz', readyz(readiness));
  app.get('/metrics', async (_req, res) => {
    res.set('Content-Type', registry.contentType).send(await registry.metrics());
  });

  app.use(
    createRateLimiter({
      redis,
      limit: config.rateLimitPerMinute,
      windowMs: config.rateLimitWindowMs,
      keyPrefix: `${prefix}ratelimit:`,
    }),
  );

  const openApiDocument = JSON.stringify(buildOpenApiDocument(routes));
  app.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(openApiDocument);
  });
  app.use('/docs', docsRouter());

  const context: RouteContext = {
    rpc: deps.rpc,
    routes,
    rpcTimeoutMs: config.rpcTimeoutMs,
    availability,
    admission,
    jsonBody: jsonBody(config.bodyLimit),
    idempotency: idempotency({
      redis,
      ttlSeconds: config.idempotencyTtlSeconds,
      // Longer than any request can take, far shorter than the replay window.
      inFlightTtlMs: Math.max(10_000, config.rpcTimeoutMs * 2 + 5000),
      keyPrefix: `${prefix}idempotency:`,
      logger,
    }),
  };
  const cache = new UserCache(redis, config.cacheTtlSeconds, logger, `${prefix}user:`);
  app.use('/v1', usersRouter(context, cache));
  app.use('/v1', ordersRouter(context));

  app.use((req, _res, next) => next(new RouteNotFoundError(req.method, req.path)));
  app.use(problemErrorHandler());
  return app;
}
