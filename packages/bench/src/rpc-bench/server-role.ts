/**
 * The echo-server process. It hosts both echo servers, each on its own
 * connection; only one is under load at a time, so the idle one costs nothing
 * that matters, and the process's CPU time belongs to the one being measured.
 */
import { RpcServer } from '@warren/rpc';
import type { RoleHandlers } from '../core/roles';
import { withTimeout } from '../core/timeout';
import { SERVER_PREFETCH, echoRoute, type EchoQueues } from './echo';
import { startFloorEchoServer } from './floor';

/** What the generator tells the server process when it starts it. It names the queues, so it can delete them. */
export interface EchoServerSettings {
  amqpUrl: string;
  queues: EchoQueues;
}

interface Closable {
  close(): Promise<void>;
}

const START_TIMEOUT_MS = 15_000;

export function echoServerRole(): RoleHandlers {
  let servers: Closable[] = [];
  return {
    async start(raw) {
      const { amqpUrl, queues } = raw as EchoServerSettings;
      servers = await withTimeout(startEchoServers(amqpUrl, queues), START_TIMEOUT_MS, 'echo servers did not start');
      return {};
    },
    // The generator samples this process's CPU time around every slice.
    async cpuUsage() {
      return process.cpuUsage();
    },
    async stop() {
      await closeAll(servers);
    },
  };
}

async function startEchoServers(amqpUrl: string, queues: EchoQueues): Promise<Closable[]> {
  const started: Closable[] = [];
  try {
    // Default options, as shipped: quorum queue, dead-letter exchange, delivery limit.
    const warren = new RpcServer({ url: amqpUrl, connectionName: 'warren-bench-server' });
    warren.handle(echoRoute(queues.warren), ({ text }) => ({ text }), { concurrency: SERVER_PREFETCH });
    started.push(warren);
    await warren.start();
    started.push(await startFloorEchoServer(amqpUrl, queues.floor));
    return started;
  } catch (error) {
    // A half-started RpcServer keeps reconnecting until closed.
    await closeAll(started);
    throw error;
  }
}

async function closeAll(servers: readonly Closable[]): Promise<void> {
  await Promise.all(servers.map((server) => server.close().catch(() => undefined)));
}
