import type { Server } from 'node:http';
import type { Logger } from './logger';

export interface ShutdownStep {
  name: string;
  run(): Promise<void> | void;
}

/**
 * On SIGTERM or SIGINT runs the steps in order (stop taking work, drain, close
 * connections), then exits 0; exits 1 if they take longer than `timeoutMs`.
 * A second signal exits at once.
 */
export function exitGracefullyOnSignals(logger: Logger, steps: ShutdownStep[], timeoutMs: number): void {
  let shuttingDown = false;
  const shutDown = async (signal: NodeJS.Signals) => {
    if (shuttingDown) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    shuttingDown = true;
    logger.info({ signal }, 'shutting down');
    const forced = setTimeout(() => {
      logger.error({ timeoutMs }, 'shutdown took too long: exiting');
      process.exit(1);
    }, timeoutMs);
    forced.unref();
    for (const step of steps) {
      try {
        await step.run();
      } catch (error) {
        logger.warn({ step: step.name, err: error }, 'shutdown step failed');
      }
    }
    logger.info('shut down cleanly');
    logger.flush?.();
    process.exit(0);
  };
  process.once('SIGTERM', shutDown);
  process.once('SIGINT', shutDown);
}

/** Logs a start-up failure as one line and exits 1, so an orchestrator restarts the process. */
export function exitOnStartupFailure(logger: Logger | undefined, error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  if (logger) logger.fatal({ err: error }, `start-up failed: ${message}`);
  else process.stderr.write(`${message}\n`);
  process.exit(1);
}

/**
 * Stops an HTTP server gracefully: no new connections, every request in progress answered, then resolves. Kept-alive
 * clients are moved off rather than kept on a server that is going away: idle connections are closed at once, and
 * every request that still arrives on an open connection is served with `Connection: close`. Without this a client
 * that keeps sending on its connection would hold the drain open until the shutdown timeout, and then lose the
 * requests in flight. (A connection that was busy when the drain began and is not used again closes at the server's
 * `keepAliveTimeout`; closing it as soon as it is idle would race with the client's next request.)
 */
export function drainHttpServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.prependListener('request', (_request, response) => response.setHeader('Connection', 'close'));
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeIdleConnections();
  });
}

/** Closes a small HTTP server (the ops endpoints) at once: its scrapes and probes are retried by whoever sent them. */
export function closeHttpServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
