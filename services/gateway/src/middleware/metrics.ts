import { setHttpRoute } from '@warren/telemetry';
import type { Request, RequestHandler, Response } from 'express';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export const UNMATCHED_ROUTE = 'unmatched';
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
type Labels = 'method' | 'route' | 'status_code';

interface HttpMetrics {
  requests: Counter<Labels>;
  duration: Histogram<Labels>;
}

const metricsByRegistry = new WeakMap<Registry, HttpMetrics>();

function httpMetrics(registry: Registry): HttpMetrics {
  const existing = metricsByRegistry.get(registry);
  if (existing) return existing;
  const labelNames: Labels[] = ['method', 'route', 'status_code'];
  const metrics: HttpMetrics = {
    requests: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests answered, by method, route template and status code.',
      labelNames,
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration from arrival to the end of the response, by method, route template and status code.',
      labelNames,
      buckets: DURATION_BUCKETS,
      registers: [registry],
    }),
  };
  metricsByRegistry.set(registry, metrics);
  return metrics;
}

/**
 * Remembers the matched route's template ("/v1/users/:id") for the metrics and names it on the request's span:
 * the first handler of every route. The router prefix is joined now, while `req.baseUrl` still has it.
 */
export const captureRoute: RequestHandler = (req, res, next) => {
  if (req.route && typeof req.route.path === 'string') {
    const template = `${req.baseUrl}${req.route.path}`;
    res.locals.routeTemplate = template;
    setHttpRoute(template);
  }
  next();
};

/** The route template of a finished request, never its raw URL. */
export function routeLabel(req: Request, res: Response): string {
  if (typeof res.locals.routeTemplate === 'string') return res.locals.routeTemplate;
  if (req.route && typeof req.route.path === 'string') return `${req.baseUrl}${req.route.path}`;
  return UNMATCHED_ROUTE;
}

/** RED metrics for every request, labelled by route template. */
export function metricsMiddleware(registry: Registry): RequestHandler {
  const metrics = httpMetrics(registry);
  return (req, res, next) => {
    const startedAt = process.hrtime.bigint();
    res.once('close', () => {
      const labels = { method: req.method, route: routeLabel(req, res), status_code: String(res.statusCode) };
      metrics.requests.inc(labels);
      metrics.duration.observe(labels, Number(process.hrtime.bigint() - startedAt) / 1e9);
    });
    next();
  };
}

/** `redis_up`: 1 while Redis accepts commands, read at every scrape. */
export function registerRedisGauge(registry: Registry, isUp: () => boolean): void {
  registry.removeSingleMetric('redis_up');
  new Gauge({
    name: 'redis_up',
    help: 'Whether the gateway can reach Redis (1) or runs degraded without it (0).',
    registers: [registry],
    collect() {
      this.set(isUp() ? 1 : 0);
    },
  });
}
