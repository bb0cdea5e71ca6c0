import { checkReadiness, type ReadinessCheck } from '@warren/service-kit';
import type { RequestHandler } from 'express';
import type { RouteDefinition } from '@warren/rpc';
import type { GatewayRpcClient } from './routes/route-kit';

export interface ReadinessOptions {
  rpc: GatewayRpcClient;
  /** The RPC routes the API calls: each needs a consumer. */
  routes: readonly RouteDefinition[];
  /** Redis is reported for information only: the API serves without it. */
  redisUp: () => boolean;
  /** How long one result is reused, so probes do not hammer the broker. */
  cacheMs?: number;
}

export interface ReadinessResult {
  ready: boolean;
  body: {
    status: 'ready' | 'not ready';
    checks: Record<string, boolean>;
    redis: 'up' | 'down';
  };
}

/**
 * Ready when the RPC client is connected and every route's queue has at least
 * one consumer (RpcClient.consumerCount, from its cache of counts). Results
 * are reused for `cacheMs`, and concurrent probes share one check.
 */
export function createReadinessProbe(options: ReadinessOptions): () => Promise<ReadinessResult> {
  const cacheMs = options.cacheMs ?? 1000;
  let last: { at: number; result: Promise<ReadinessResult> } | undefined;

  const run = async (): Promise<ReadinessResult> => {
    const checks: Record<string, ReadinessCheck> = { rpcConnected: () => options.rpc.isConnected };
    for (const route of options.routes) {
      checks[route.name] = async () => ((await options.rpc.consumerCount(route.name)) ?? 0) > 0;
    }
    const report = await checkReadiness(checks);
    return {
      ready: report.ready,
      body: {
        status: report.ready ? 'ready' : 'not ready',
        checks: report.checks,
        redis: options.redisUp() ? 'up' : 'down',
      },
    };
  };

  return () => {
    const now = Date.now();
    if (!last || now - last.at >= cacheMs) last = { at: now, result: run() };
    return last.result;
  };
}

/** GET /healthz: the process is alive. */
export const healthz: RequestHandler = (_req, res) => {
  res.set('Cache-Control', 'no-store').json({ status: 'ok' });
};

/** GET /readyz: 200 when calls can be served, 503 otherwise, with the checks in the body. */
export function readyz(probe: () => Promise<ReadinessResult>): RequestHandler {
  return async (_req, res) => {
    const result = await probe();
    res
      .status(result.ready ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json(result.body);
  };
}
