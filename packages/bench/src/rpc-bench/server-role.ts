/**
 * The echo-server process. It hosts both echo servers, each on its own
 * connection; only one is under load at a time, so the idle one costs nothing
 * that matters, and the process's CPU time belongs to the one being measured.
 */
import { RpcServer } from '@warren/rpc';
import type { BenchQueues } from './config';
import { SERVER_PREFETCH, echoRoute } from './echo';
import { startFloorServer, type Closable } from './floor';
import { isGeneratorMessage, withTimeout, type ServerMessage } from './ipc';

const START_TIMEOUT_MS = 15_000;

export async function runServerRole(amqpUrl: string, queues: BenchQueues): Promise<void> {
  let servers: Closable[];
  try {
    servers = await withTimeout(startEchoServers(amqpUrl, queues), START_TIMEOUT_MS, 'echo servers did not start');
  } catch (error) {
    failAndExit((error as Error).message);
    return;
  }
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await closeAll(servers);
    if (process.connected) process.disconnect();
  };
  process.on('message', (message: unknown) => {
    if (!isGeneratorMessage(message)) return;
    if (message.kind === 'cpu-usage') send({ kind: 'cpu-usage', usage: process.cpuUsage() });
    else void stop();
  });
  // The generator died or went away: nobody will ask us to stop, so stop.
  process.on('disconnect', () => void stop());
  // Ctrl-C reaches the whole process group; the generator decides when we stop, after its cleanup starts.
  process.on('SIGINT', () => undefined);
  send({ kind: 'ready' });
}

async function startEchoServers(amqpUrl: string, queues: BenchQueues): Promise<Closable[]> {
  const started: Closable[] = [];
  try {
    // Default options, as shipped: quorum queue, dead-letter exchange, delivery limit.
    const warren = new RpcServer({ url: amqpUrl, connectionName: 'warren-bench-server' });
    warren.handle(echoRoute(queues.warren), ({ text }) => ({ text }), { concurrency: SERVER_PREFETCH });
    started.push(warren);
    await warren.start();
    started.push(await startFloorServer(amqpUrl, queues.floor));
    return started;
  } catch (error) {
    await closeAll(started);
    throw error;
  }
}

async function closeAll(servers: readonly Closable[]): Promise<void> {
  await Promise.all(servers.map((server) => server.close().catch(() => undefined)));
}

function send(message: ServerMessage): void {
  process.send?.(message);
}

// A half-started RpcServer keeps reconnecting forever, so a failed start
// leaves at once instead of waiting for its connection to wind down.
function failAndExit(message: string): void {
  const failure: ServerMessage = { kind: 'failed', message };
  if (!process.send) process.exit(1);
  process.send(failure, () => process.exit(1));
}
