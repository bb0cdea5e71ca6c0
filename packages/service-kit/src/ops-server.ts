import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from './logger';

/** A named readiness check: resolves true when the dependency answers. */
export type ReadinessCheck = () => boolean | Promise<boolean>;

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, boolean>;
}

const CHECK_TIMEOUT_MS = 2000;

/** Runs every check at once, each bounded in time; a check that throws or hangs counts as failed. */
export async function checkReadiness(checks: Record<string, ReadinessCheck>): Promise<ReadinessReport> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), CHECK_TIMEOUT_MS)));
      const passed = await Promise.race([
        Promise.resolve()
          .then(check)
          .catch(() => false),
        timedOut,
      ]);
      clearTimeout(timer);
      return [name, passed === true] as const;
    }),
  );
  const report = Object.fromEntries(entries);
  return { ready: entries.every(([, passed]) => passed), checks: report };
}

export interface OpsServerOptions {
  host: string;
  port: number;
  registry: Registry;
  checks: Record<string, ReadinessCheck>;
  logger: Logger;
}

/**
 * The small HTTP server a worker exposes: `/healthz` (the process is alive),
 * `/readyz` (its dependencies answer) and `/metrics` (Prometheus).
 */
export async function startOpsServer(options: OpsServerOptions): Promise<Server> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const reply = (status: number, contentType: string, body: string) => {
      response.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
      response.end(body);
    };
    if (request.method !== 'GET' && request.method !== 'HEAD') return reply(405, 'text/plain', 'method not allowed\n');
    if (path === '/healthz') return reply(200, 'application/json', '{"status":"ok"}');
    if (path === '/readyz') {
      void checkReadiness(options.checks).then((report) =>
        reply(
          report.ready ? 200 : 503,
          'application/json',
          JSON.stringify({ status: report.ready ? 'ready' : 'not ready', ...report }),
        ),
      );
      return;
    }
    if (path === '/metrics') {
      void options.registry
        .metrics()
        .then((text) => reply(200, options.registry.contentType, text))
        .catch((error: unknown) => {
          options.logger.error({ err: error }, 'metrics collection failed');
          reply(500, 'text/plain', 'metrics unavailable\n');
        });
      return;
    }
    reply(404, 'text/plain', 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return server;
}
