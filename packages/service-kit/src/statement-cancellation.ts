import type { Socket } from 'node:net';
import { Connection, type Pool, type PoolClient } from 'pg';

/**
 * Runs `work` on a pooled connection whose statements are cancelled should `signal` abort first (see
 * `cancelStatementsOnAbort`); without a signal, on a pooled connection all the same.
 */
export async function withCancellableClient<Result>(
  pool: Pool,
  signal: AbortSignal | undefined,
  work: (client: PoolClient) => Promise<Result>,
): Promise<Result> {
  const client = await connectUnlessAborted(pool, signal);
  const cancellation = cancelStatementsOnAbort(client, signal);
  try {
    return await work(client);
  } catch (error) {
    throw cancellation.failure(error);
  } finally {
    client.release(cancellation.end());
  }
}

/**
 * A pooled connection, unless `signal` aborted before one was free (the wait is up to the pool's connection timeout):
 * then it goes back unused and the signal's reason is thrown, as it is when the signal aborted before the call.
 */
export async function connectUnlessAborted(pool: Pool, signal: AbortSignal | undefined): Promise<PoolClient> {
  signal?.throwIfAborted();
  const client = await pool.connect();
  if (signal?.aborted) {
    client.release();
    throw signal.reason;
  }
  return client;
}

/**
 * Until `end()`, should `signal` abort (a handler's `context.signal`: the request's deadline passed and nobody waits
 * for the answer), PostgreSQL is asked to cancel the statement running on `client`, so a query stuck behind a lock
 * or a slow plan stops now rather than at `statement_timeout`. `failure(error)` is what the work then fails with:
 * the signal's reason once the signal aborted (and the cancel was sent), the error otherwise.
 *
 * The cancel is PostgreSQL's CancelRequest (what psql sends on Ctrl-C) on a socket of its own: it needs no pooled
 * connection, so it works while the pool is exhausted. `end()` returns an error to release the connection with
 * (destroying it) once a cancel was sent, since the request could still land on whatever statement runs on it next.
 */
export function cancelStatementsOnAbort(
  client: PoolClient,
  signal: AbortSignal | undefined,
): { failure(error: unknown): unknown; end(): Error | undefined } {
  let cancelled = false;
  const cancel = () => {
    cancelled = true;
    sendCancelRequest(client);
  };
  signal?.addEventListener('abort', cancel, { once: true });
  return {
    failure: (error) => (cancelled ? signal!.reason : error),
    end() {
      signal?.removeEventListener('abort', cancel);
      return cancelled ? new Error('a cancel request was sent on this connection') : undefined;
    },
  };
}

/** What pg's Client knows of its backend (set at connect, not in @types/pg). */
interface BackendKey {
  host: string;
  port: number;
  processID: number;
  secretKey: number;
}

/** pg's Connection, whose `cancel` is what pg's own Client#cancel sends (which also needs a deprecated field). */
interface CancelConnection {
  readonly stream: Socket;
  connect(portOrPath: number | string, host?: string): void;
  cancel(processID: number, secretKey: number): void;
  on(event: 'connect' | 'error', listener: () => void): void;
}

/** Longest life of the socket a cancel is sent on: PostgreSQL closes it at once; an unreachable host does not. */
const CANCEL_SOCKET_TIMEOUT_MS = 5000;

/** Best effort, never throwing: should it not arrive, the statement still ends by `statement_timeout`. */
function sendCancelRequest(client: PoolClient): void {
  try {
    const { host, port, processID, secretKey } = client as unknown as BackendKey;
    const connection = new Connection() as unknown as CancelConnection;
    connection.on('error', () => undefined);
    // The server answers a CancelRequest by closing the socket; nothing else is read or written on it.
    connection.on('connect', () => connection.cancel(processID, secretKey));
    connection.stream.setTimeout(CANCEL_SOCKET_TIMEOUT_MS, () => connection.stream.destroy());
    if (host.startsWith('/')) connection.connect(`${host}/.s.PGSQL.${port}`);
    else connection.connect(port, host);
  } catch {
    // A connection configured in a way this cannot follow (a custom stream): the statement timeout still applies.
  }
}
