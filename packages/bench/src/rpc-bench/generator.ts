/**
 * The load-generating process: it owns the run. It forks the echo servers,
 * drives the closed-loop calls, samples CPU time on both sides, prints the
 * figures, and cleans up (clients, server process, queues) whatever happened.
 */
import { availableParallelism } from 'node:os';
import { connect, type ChannelModel } from 'amqplib';
import { RpcClient } from '@warren/rpc';
import type { BenchConfig, BenchQueues } from './config';
import {
  ECHO_PAYLOAD,
  SERVER_PREFETCH,
  assertEcho,
  declaredQueues,
  echoRoute,
  rpcServerQueueArguments,
  uniqueQueues,
} from './echo';
import { FloorClient } from './floor';
import { withTimeout } from './ipc';
import { cpuPercent, cpuUsageBetween, runClosedLoop, summarize, type EchoCall } from './measure';
import {
  evaluateTargets,
  formatReport,
  jsonReport,
  rowsFrom,
  type Implementation,
  type Measurement,
  type RunContext,
} from './report';
import { ServerProcess } from './server-process';

type GeneratorConfig = Extract<BenchConfig, { role: 'generator' }>;

interface EchoClient {
  implementation: Implementation;
  echo: EchoCall;
}

type Cleanup = () => Promise<unknown>;
/** Registers what to undo at the end of the run; cleanups run last registered first. */
type Defer = (cleanup: Cleanup) => void;

interface Cell {
  round: number;
  concurrency: number;
  implementation: Implementation;
}

const CONNECT_TIMEOUT_MS = 10_000;
// Beyond its window, the longest a cell may take before the run is declared stuck.
const CELL_GRACE_MS = 15_000;

/** Runs the whole benchmark; throws on any real failure after cleaning up. */
export async function runGenerator(config: GeneratorConfig, scriptPath: string): Promise<void> {
  const queues = uniqueQueues();
  const cleanups: Cleanup[] = [];
  const defer: Defer = (cleanup) => cleanups.push(cleanup);
  const interrupted = rejectOnSignal();
  try {
    const admin = await openAdminConnection(config);
    defer(() => deleteQueuesAndClose(admin, queues));
    const server = await ServerProcess.start(scriptPath, queues);
    defer(() => server.stop());
    await assertFloorQueueMatchesRpcServer(admin, queues);

    const clients = new Map<Implementation, EchoClient>();
    for (const open of [openFloorClient, openWarrenClient]) {
      const client = await open(config.amqpUrl, queues, defer);
      clients.set(client.implementation, client);
    }

    const measurements: Measurement[] = [];
    for (const cell of schedule(config)) {
      const client = clients.get(cell.implementation);
      if (!client) throw new Error(`no client for ${cell.implementation}`);
      measurements.push(await measureCell(cell, client, server, config, interrupted.promise));
    }
    printReport(config, brokerVersion(admin), measurements);
  } finally {
    interrupted.dispose();
    for (const cleanup of cleanups.reverse())
      await cleanup().catch((error: Error) => progress(`cleanup: ${error.message}`));
  }
}

/**
 * Every (round, concurrency, implementation) in the order measured. Which
 * implementation goes first alternates from one concurrency and round to the
 * next, so neither always meets a broker the other has just warmed.
 */
function schedule(config: GeneratorConfig): Cell[] {
  const cells: Cell[] = [];
  for (let round = 1; round <= config.rounds; round++) {
    config.concurrencies.forEach((concurrency, index) => {
      const order: Implementation[] = (round + index) % 2 === 1 ? ['floor', 'warren'] : ['warren', 'floor'];
      for (const implementation of order) cells.push({ round, concurrency, implementation });
    });
  }
  return cells;
}

async function measureCell(
  cell: Cell,
  client: EchoClient,
  server: ServerProcess,
  config: GeneratorConfig,
  interrupted: Promise<never>,
): Promise<Measurement> {
  progress(`round ${cell.round}/${config.rounds}: ${cell.implementation} at concurrency ${cell.concurrency}`);
  // Guard each phase: a lost reply or a dead server must end the run, not hang it.
  const guarded = <T>(phase: Promise<T>, seconds: number) =>
    withTimeout(
      Promise.race([phase, server.failed, interrupted]),
      seconds * 1000 + CELL_GRACE_MS,
      `${cell.implementation} at concurrency ${cell.concurrency} did not finish in time`,
    );

  await guarded(runClosedLoop(client.echo, cell.concurrency, config.warmupSeconds), config.warmupSeconds);
  const serverBefore = await server.cpuUsage();
  const generatorBefore = process.cpuUsage();
  const window = await guarded(runClosedLoop(client.echo, cell.concurrency, config.seconds), config.seconds);
  const generatorUsage = process.cpuUsage(generatorBefore);
  const serverUsage = cpuUsageBetween(serverBefore, await server.cpuUsage());
  return {
    ...cell,
    calls: window.calls,
    elapsedSeconds: window.elapsedSeconds,
    ...summarize(window),
    generatorCpuPercent: cpuPercent(generatorUsage, window.elapsedSeconds),
    serverCpuPercent: cpuPercent(serverUsage, window.elapsedSeconds),
  };
}

async function openAdminConnection(config: GeneratorConfig): Promise<ChannelModel> {
  let connection: ChannelModel;
  try {
    connection = await connect(config.amqpUrl, { timeout: CONNECT_TIMEOUT_MS });
  } catch (error) {
    throw new Error(`cannot reach RabbitMQ at ${config.brokerAddress}: ${(error as Error).message}`);
  }
  // Its failures surface as failed operations; an unhandled 'error' event would crash before cleanup.
  connection.on('error', () => undefined);
  return connection;
}

function brokerVersion(connection: ChannelModel): string {
  return connection.connection.serverProperties.version;
}

/**
 * Re-declares the warren route's queue with the floor's arguments. The broker
 * refuses (406 PRECONDITION_FAILED) if any of them differs, so this proves
 * the floor pays for the same kind of queue as RpcServer's.
 */
async function assertFloorQueueMatchesRpcServer(admin: ChannelModel, queues: BenchQueues): Promise<void> {
  const channel = await admin.createChannel();
  channel.on('error', () => undefined);
  try {
    await channel.assertQueue(queues.warren, { durable: true, arguments: rpcServerQueueArguments() });
  } catch (error) {
    throw new Error(`the floor queue is not declared like RpcServer's route queue: ${(error as Error).message}`);
  }
  await channel.close();
}

async function deleteQueuesAndClose(admin: ChannelModel, queues: BenchQueues): Promise<void> {
  const channel = await admin.createChannel();
  for (const queue of declaredQueues(queues)) await channel.deleteQueue(queue);
  await admin.close();
}

async function openFloorClient(amqpUrl: string, queues: BenchQueues, defer: Defer): Promise<EchoClient> {
  const floor = await withTimeout(
    FloorClient.open(amqpUrl, queues.floor),
    CONNECT_TIMEOUT_MS,
    'floor client did not connect',
  );
  defer(() => floor.close());
  return { implementation: 'floor', echo: async () => assertEcho(await floor.call(ECHO_PAYLOAD)) };
}

async function openWarrenClient(amqpUrl: string, queues: BenchQueues, defer: Defer): Promise<EchoClient> {
  // Default options, as shipped: confirm channel, persistent and mandatory publishes, 5 s deadline.
  const client = new RpcClient({ url: amqpUrl, connectionName: 'warren-bench-client' });
  // Deferred before start(): a client that never connects keeps retrying until closed.
  defer(() => client.close());
  await withTimeout(client.start(), CONNECT_TIMEOUT_MS, 'warren client did not connect');
  const route = echoRoute(queues.warren);
  return { implementation: 'warren', echo: async () => assertEcho(await client.call(route, ECHO_PAYLOAD)) };
}

function printReport(config: GeneratorConfig, brokerVersionText: string, measurements: readonly Measurement[]): void {
  const context: RunContext = {
    brokerAddress: config.brokerAddress,
    brokerVersion: brokerVersionText,
    cpus: availableParallelism(),
    seconds: config.seconds,
    warmupSeconds: config.warmupSeconds,
    rounds: config.rounds,
    serverPrefetch: SERVER_PREFETCH,
  };
  const rows = rowsFrom(measurements, config.concurrencies);
  const targets = evaluateTargets(rows);
  console.log(formatReport(context, rows, targets));
  if (config.json) console.log(jsonReport(context, rows, measurements, targets));
}

/** Ctrl-C or SIGTERM ends the measurement early but still runs the cleanup. */
function rejectOnSignal(): { promise: Promise<never>; dispose(): void } {
  let onSignal: (signal: NodeJS.Signals) => void = () => undefined;
  const promise = new Promise<never>((_, reject) => {
    onSignal = (signal) => reject(new Error(`interrupted by ${signal}`));
  });
  promise.catch(() => undefined);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    promise,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** Progress goes to stderr so stdout holds only the report (and the JSON line). */
function progress(line: string): void {
  process.stderr.write(`[rpc-bench] ${line}\n`);
}
