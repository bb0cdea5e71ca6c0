import type { Logger } from '@warren/service-kit';
import cors from 'cors';
import express, { type Express } from 'express';
import helmet from 'helmet';
import type { Registry } from 'prom-client';
import { authenticate } from './auth/authenticate';
import type { TokenVerifier } from './auth/token-verifier';
import { UserCache } from './cache/user-cache';
import type { GatewayConfig } from './config';
import { problemErrorHandler } from './errors/error-mapping';
import { RouteNotFoundError } from './errors/http-errors';
import { createReadinessProbe, healthz, readyz } from './health';
import { accessLog } from './middleware/access-log';
import { idempotency } from './middleware/idempotency';
import { metricsMiddleware, registerRedisGauge } from './middleware/metrics';
import { createRateLimiter } from './middleware/rate-limit';
import { requestDeadline } from './middleware/request-deadline';
import { requestId } from './middleware/request-id';
import { loadShedding } from './middleware/load-shedding';
import { jsonBody } from './middleware/validation';
import { docsRouter } from './openapi/docs-page';
import { buildOpenApiDocument } from './openapi/openapi-document';
import type { LoadShedder } from './overload/load-shedder';
import { isRedisReady, type Redis } from './redis';
import { rpcRoutesOf, type ApiRoute } from './routes/api-route';
import { apiRouter } from './routes/api-router';
import { API_ROUTES } from './routes/api-routes';
import type { GatewayRpcClient } from './routes/route-kit';

export type AppConfig = Pick<
  GatewayConfig,
  | 'rpcTimeoutMs'
  | 'bodyLimit'
  | 'cacheTtlSeconds'
  | 'idempotencyTtlSeconds'
  | 'rateLimitPerMinute'
  | 'rateLimitWindowMs'
  | 'corsOrigins'
  | 'trustProxy'
>;

export interface AppDependencies {
  config: AppConfig;
  rpc: GatewayRpcClient;
  redis: Redis;
  registry: Registry;
  logger: Logger;
  /** The API's routes (default: the route table, API_ROUTES). */
  routes?: readonly ApiRoute[];
  /** Prefix of every Redis key the app writes (cache, idempotency, rate limit). */
  redisKeyPrefix?: string;
  /** Verifies bearer tokens; undefined leaves the API open (AUTH_ISSUER unset). */
  tokenVerifier?: TokenVerifier;
  /** Load shedding by the event loop's delay (default: none, only the RPC cap sheds). */
  shedder?: LoadShedder;
  /** How long a readiness result is reused (default 1000 ms). */
  readinessCacheMs?: number;
}

/** Builds the gateway's express app from its dependencies; it does not listen. */
export function createApp(deps: AppDependencies): Express {
  const { config, redis, registry, logger } = deps;
  const routes = deps.routes ?? API_ROUTES;
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
  // The deadline starts when the request is accepted; then load shedding on arrival, before the access log and
  // everything else a request costs.
  app.use(
    '/v1',
    requestDeadline(config.rpcTimeoutMs),
    loadShedding({
      assertRpcCapacity: () => deps.rpc.assertCapacity(),
      shedder: deps.shedder,
      registry,
    }),
  );
  app.use(accessLog(logger));

  // Operations endpoints: never rate limited.
  const readiness = createReadinessProbe({
    rpc: deps.rpc,
    routes: rpcRoutesOf(routes),
    redisUp,
    cacheMs: deps.readinessCacheMs,
  });
  app.get('/healthz', healthz);
  app.get('/readyz', readyz(readiness));
  app.get('/metrics', async (_req, res) => {
    res.set('Content-Type', registry.contentType).send(await registry.metrics());
  });

  const rateLimit = createRateLimiter({
    redis,
    limit: config.rateLimitPerMinute,
    windowMs: config.rateLimitWindowMs,
    keyPrefix: `${prefix}ratelimit:`,
  });
  // API requests are limited in the router, once authenticated (per subject); everything else here, per address.
  app.use((req, res, next) => (req.path.startsWith('/v1/') ? next() : rateLimit(req, res, next)));

  const openApiDocument = JSON.stringify(
    buildOpenApiDocument(routes, { authentication: deps.tokenVerifier !== undefined }),
  );
  app.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(openApiDocument);
  });
  app.use('/docs', docsRouter());

  app.use(
    '/v1',
    apiRouter(routes, {
      rpc: deps.rpc,
      jsonBody: jsonBody(config.bodyLimit),
      idempotency: idempotency({
        redis,
        ttlSeconds: config.idempotencyTtlSeconds,
        keyPrefix: `${prefix}idempotency:`,
        logger,
      }),
      cache: new UserCache(redis, config.cacheTtlSeconds, logger, `${prefix}user:`),
      authenticate: deps.tokenVerifier ? authenticate({ verifier: deps.tokenVerifier, deferFailure: true }) : undefined,
      rateLimit,
    }),
  );

  // An API path no route has: still one more request from its client.
  app.use('/v1', rateLimit);
  app.use((req, _res, next) => next(new RouteNotFoundError(req.method, req.path)));
  app.use(problemErrorHandler(logger));
  return app;
}
