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
import {
  SlicedWindow,
  cpuMicrosPerCall,
  cpuPercent,
  cpuUsageBetween,
  runClosedLoop,
  summarize,
  type EchoCall,
  type WindowResult,
} from './measure';
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

type Clients = Record<Implementation, EchoClient>;

/** One concurrency in one round: both implementations, `order[0]` warming up and starting first. */
interface Step {
  round: number;
  concurrency: number;
  order: readonly Implementation[];
}

const CONNECT_TIMEOUT_MS = 10_000;
// Beyond its planned length, the longest a phase may take before the run is declared stuck.
const PHASE_GRACE_MS = 15_000;
// Short enough that a burst of load from a neighbour on the machine lands on
// both implementations, long enough that draining the workers between slices
// (one round trip) is noise.
const SLICE_SECONDS = 1;

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

    const clients: Clients = {
      floor: await openFloorClient(config.amqpUrl, queues, defer),
      warren: await openWarrenClient(config.amqpUrl, queues, defer),
    };
    const measurements: Measurement[] = [];
    for (const step of schedule(config)) {
      measurements.push(...(await measureStep(step, clients, server, config, interrupted.promise)));
    }
    printReport(config, brokerVersion(admin), measurements);
  } finally {
    interrupted.dispose();
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((error: Error) => progress(`cleanup: ${error.message}`));
    }
  }
}

/**
 * Every (round, concurrency) in the order measured. Which implementation goes
 * first alternates from one concurrency and round to the next, so neither
 * always meets a broker the other has just warmed.
 */
function schedule(config: GeneratorConfig): Step[] {
  const steps: Step[] = [];
  for (let round = 1; round <= config.rounds; round++) {
    config.concurrencies.forEach((concurrency, index) => {
      const order: Implementation[] = (round + index) % 2 === 1 ? ['floor', 'warren'] : ['warren', 'floor'];
      steps.push({ round, concurrency, order });
    });
  }
  return steps;
}

/**
 * Measures both implementations at one concurrency. After each warms up,
 * their windows are cut into slices that alternate (ABBA...), so whatever
 * else the machine or the broker is doing meanwhile falls on both alike.
 */
async function measureStep(
  step: Step,
  clients: Clients,
  server: ServerProcess,
  config: GeneratorConfig,
  interrupted: Promise<never>,
): Promise<Measurement[]> {
  progress(
    `round ${step.round}/${config.rounds}: concurrency ${step.concurrency}, ${step.order.join(' first, then ')}`,
  );
  // A lost reply, a dead server or Ctrl-C must end the run, not hang it.
  const guarded = <T>(phase: Promise<T>, seconds: number) =>
    withTimeout(
      Promise.race([phase, server.failed, interrupted]),
      seconds * 1000 + PHASE_GRACE_MS,
      `calls at concurrency ${step.concurrency} did not finish in time`,
    );

  for (const implementation of step.order) {
    await guarded(
      runClosedLoop(clients[implementation].echo, step.concurrency, config.warmupSeconds),
      config.warmupSeconds,
    );
  }
  const windows: Record<Implementation, SlicedWindow> = { floor: new SlicedWindow(), warren: new SlicedWindow() };
  const { slices, sliceSeconds } = slicing(config.seconds);
  for (let slice = 0; slice < slices; slice++) {
    // ABBA: each implementation opens half the slices.
    const order = slice % 2 === 0 ? step.order : [...step.order].reverse();
    for (const implementation of order) {
      const window = windows[implementation];
      const echo = clients[implementation].echo;
      const run = () => guarded(runClosedLoop(echo, step.concurrency, sliceSeconds, window.latenciesMs), sliceSeconds);
      await measureSlice(run, window, server);
    }
  }
  return step.order.map((implementation) => toMeasurement(step, implementation, windows[implementation]));
}

/** Runs one slice and adds its calls and the CPU time both processes spent on it to `window`. */
async function measureSlice(
  run: () => Promise<WindowResult>,
  window: SlicedWindow,
  server: ServerProcess,
): Promise<void> {
  const serverBefore = await server.cpuUsage();
  const generatorBefore = process.cpuUsage();
  const result = await run();
  const generatorCpu = process.cpuUsage(generatorBefore);
  window.add(result, generatorCpu, cpuUsageBetween(serverBefore, await server.cpuUsage()));
}

/** Cuts a window into whole slices of about SLICE_SECONDS. */
function slicing(seconds: number): { slices: number; sliceSeconds: number } {
  const slices = Math.max(1, Math.round(seconds / SLICE_SECONDS));
  return { slices, sliceSeconds: seconds / slices };
}

function toMeasurement(step: Step, implementation: Implementation, window: SlicedWindow): Measurement {
  return {
    round: step.round,
    concurrency: step.concurrency,
    implementation,
    calls: window.calls,
    elapsedSeconds: window.elapsedSeconds,
    ...summarize(window),
    generatorCpuPercent: cpuPercent(window.generatorCpu, window.elapsedSeconds),
    serverCpuPercent: cpuPercent(window.serverCpu, window.elapsedSeconds),
    generatorCpuMicrosPerCall: cpuMicrosPerCall(window.generatorCpu, window.calls),
    serverCpuMicrosPerCall: cpuMicrosPerCall(window.serverCpu, window.calls),
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
    sliceSeconds: slicing(config.seconds).sliceSeconds,
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
