import { connect, type ChannelModel, type RecoveringChannelModel } from 'amqplib';
import type { RpcLogger } from './logger';

export interface ConnectionOptions {
  /** AMQP URL, for example amqp://user:password@127.0.0.1:5672 */
  url: string;
  /** Shown in the broker's management UI; also lets tests find and close this connection. */
  connectionName: string;
  /** First reconnect delay (default 100 ms); later ones double up to `maxReconnectDelayMs`, with 20% jitter. */
  initialReconnectDelayMs?: number;
  /** Cap of the reconnect delay (default 5000 ms). */
  maxReconnectDelayMs?: number;
  /**
   * AMQP heartbeat in seconds (default 10): a broker that stops answering on an open connection is noticed within
   * about two of them. Calls do not wait for that: each ends at its own deadline.
   */
  heartbeatSeconds?: number;
  /**
   * Longest wait for one connection attempt, TCP connect and AMQP handshake together (default 5000 ms). A broker
   * whose host accepts the socket but never answers (a paused or stopped process) would otherwise hold the
   * reconnect loop forever.
   */
  connectTimeoutMs?: number;
  /** Longest wait, at `close()`, for the broker to confirm each close (default 2000 ms); then it is not waited for. */
  closeTimeoutMs?: number;
}

/** The default of `closeTimeoutMs`, which the client and the server both apply. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 2000;

export interface ConnectionHooks {
  /** Runs on every (re)connect before the connection counts as up; a throw makes it retry. */
  setup(model: ChannelModel): Promise<void>;
  /** Runs when an established connection drops. */
  onDisconnect(error: Error): void;
}

/**
 * Opens a recovering AMQP connection with TCP_NODELAY on. It returns at once;
 * amqplib's own recovery reconnects with capped exponential backoff and jitter,
 * and reruns `setup` each time so channels and consumers come back.
 */
export async function openRecoveringConnection(
  options: ConnectionOptions,
  hooks: ConnectionHooks,
  logger: RpcLogger,
): Promise<RecoveringChannelModel> {
  const url = new URL(options.url);
  if (!url.searchParams.has('heartbeat')) url.searchParams.set('heartbeat', String(options.heartbeatSeconds ?? 10));
  const connection = await connect(url.toString(), {
    // Without it, Nagle's algorithm holds small frames back and a loopback round trip costs ~40 ms.
    noDelay: true,
    timeout: options.connectTimeoutMs ?? 5000,
    clientProperties: { connection_name: options.connectionName },
    recovery: {
      initialDelay: options.initialReconnectDelayMs ?? 100,
      maxDelay: options.maxReconnectDelayMs ?? 5000,
      factor: 2,
      jitter: 0.2,
      maxRetries: Infinity,
      waitForConnect: false,
      setup: (model: ChannelModel) => hooks.setup(model),
    },
  });
  const name = options.connectionName;
  connection.on('connect', () => logger.info({ connection: name }, 'amqp connected'));
  connection.on('disconnect', (error: Error) => {
    logger.warn({ connection: name, err: error.message }, 'amqp connection lost');
    hooks.onDisconnect(error);
  });
  connection.on('connect-failed', (error: Error) =>
    logger.debug({ connection: name, err: error.message }, 'amqp connect attempt failed'),
  );
  connection.on('reconnect-scheduled', ({ attempt, delay }: { attempt: number; delay: number }) =>
    logger.debug({ connection: name, attempt, delayMs: delay }, 'amqp reconnect scheduled'),
  );
  connection.on('error', (error: Error) => logger.warn({ connection: name, err: error.message }, 'amqp error'));
  connection.on('handler-error', (error: Error, event: string) =>
    logger.error({ connection: name, err: error.message, event }, 'amqp event handler threw'),
  );
  connection.on('blocked', (reason: string) => logger.warn({ connection: name, reason }, 'amqp connection blocked'));
  return connection;
}
