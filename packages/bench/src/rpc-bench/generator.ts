/**
 * The load-generating process: it owns the run. It forks the echo servers,
 * drives the closed-loop calls, samples CPU time on both sides, prints the
 * figures, and cleans up (clients, server process, queues) whatever happened.
 */
import { availableParallelism } from 'node:os';
import { connect, type ChannelModel } from 'amqplib';
import { RpcClient } from '@warren/rpc';
import { rpcServerQueueArguments } from '../core/bare-amqp';
import { CleanupStack } from '../core/cleanup';
import { progressTo } from '../core/program';
import { RoleProcess } from '../core/roles';
import { alternatingSchedule, runAlternatingSlices, slicing, type Implementation, type Step } from '../core/schedule';
import { latencyPercentiles } from '../core/statistics';
import { withTimeout } from '../core/timeout';
import { SERVER_ROLE, type RpcBenchConfig } from './config';
import {
  ECHO_PAYLOAD,
  SERVER_PREFETCH,
  assertEcho,
  declaredQueues,
  echoRoute,
  uniqueQueues,
  type EchoQueues,
} from './echo';
import { FloorEchoClient } from './floor';
import {
  SlicedWindow,
  cpuMicrosPerCall,
  cpuPercent,
  cpuUsageBetween,
  runEchoLoop,
  type EchoCall,
  type WindowResult,
} from './measure';
import { evaluateTargets, formatReport, jsonReport, rowsFrom, type Measurement, type RunContext } from './report';
import type { EchoServerSettings } from './server-role';

type Clients = Record<Implementation, EchoCall>;

const CONNECT_TIMEOUT_MS = 10_000;
const SERVER_READY_TIMEOUT_MS = 20_000;
const CPU_SAMPLE_TIMEOUT_MS = 5_000;
// Beyond its planned length, the longest a phase may take before the run is declared stuck.
const PHASE_GRACE_MS = 15_000;
// One slice is enough: at a concurrency, both implementations meet the same broker in turn.
const MIN_SLICES = 1;

const progress = progressTo('rpc-bench');

/** Runs the whole benchmark; throws on any real failure after cleaning up. */
export async function runGenerator(config: RpcBenchConfig, scriptPath: string): Promise<void> {
  const queues = uniqueQueues();
  const cleanups = new CleanupStack(progress);
  const interrupted = rejectOnSignal();
  try {
    const admin = await openAdminConnection(config);
    cleanups.defer(() => deleteQueuesAndClose(admin, queues));
    const server = await RoleProcess.start(
      scriptPath,
      SERVER_ROLE,
      { amqpUrl: config.amqpUrl, queues } satisfies EchoServerSettings,
      SERVER_READY_TIMEOUT_MS,
    );
    cleanups.defer(() => server.process.stop());
    await assertFloorQueueMatchesRpcServer(admin, queues);

    const clients: Clients = {
      floor: await openFloorClient(config.amqpUrl, queues, cleanups),
      warren: await openWarrenClient(config.amqpUrl, queues, cleanups),
    };
    const measurements: Measurement[] = [];
    const steps = alternatingSchedule(
      config.rounds,
      config.concurrencies,
      (concurrency) => `concurrency ${concurrency}`,
    );
    for (const step of steps) {
      measurements.push(...(await measureStep(step, clients, server.process, config, interrupted.promise)));
    }
    printReport(config, brokerVersion(admin), measurements);
  } finally {
    interrupted.dispose();
    await cleanups.runAll();
  }
}

/** Measures both implementations at one concurrency, in alternating slices after a warm-up each. */
async function measureStep(
  step: Step<number>,
  clients: Clients,
  server: RoleProcess,
  config: RpcBenchConfig,
  interrupted: Promise<never>,
): Promise<Measurement[]> {
  const concurrency = step.cell;
  progress(step.description);
  // A lost reply, a dead server or Ctrl-C must end the run, not hang it.
  const guarded = <T>(phase: Promise<T>, seconds: number) =>
    withTimeout(
      Promise.race([phase, server.failed, interrupted]),
      seconds * 1000 + PHASE_GRACE_MS,
      `calls at concurrency ${concurrency} did not finish in time`,
    );
  const windows: Record<Implementation, SlicedWindow> = { floor: new SlicedWindow(), warren: new SlicedWindow() };
  const { slices, sliceSeconds } = slicing(config.seconds, MIN_SLICES);
  await runAlternatingSlices(
    step.order,
    slices,
    (implementation) =>
      guarded(runEchoLoop(clients[implementation], concurrency, config.warmupSeconds), config.warmupSeconds),
    (implementation) => {
      const window = windows[implementation];
      const run = () =>
        guarded(runEchoLoop(clients[implementation], concurrency, sliceSeconds, window.latenciesMs), sliceSeconds);
      return measureSlice(run, window, server);
    },
  );
  return step.order.map((implementation) => toMeasurement(step, implementation, windows[implementation]));
}

/** Runs one slice and adds its calls and the CPU time both processes spent on it to `window`. */
async function measureSlice(
  run: () => Promise<WindowResult>,
  window: SlicedWindow,
  server: RoleProcess,
): Promise<void> {
  const serverCpu = () => server.call<NodeJS.CpuUsage>('cpuUsage', null, CPU_SAMPLE_TIMEOUT_MS);
  const serverBefore = await serverCpu();
  const generatorBefore = process.cpuUsage();
  const result = await run();
  const generatorCpu = process.cpuUsage(generatorBefore);
  window.add(result, generatorCpu, cpuUsageBetween(serverBefore, await serverCpu()));
}

function toMeasurement(step: Step<number>, implementation: Implementation, window: SlicedWindow): Measurement {
  return {
    round: step.round,
    concurrency: step.cell,
    implementation,
    calls: window.calls,
    elapsedSeconds: window.elapsedSeconds,
    callsPerSecond: window.calls / window.elapsedSeconds,
    ...latencyPercentiles(window.latenciesMs),
    generatorCpuPercent: cpuPercent(window.generatorCpu, window.elapsedSeconds),
    serverCpuPercent: cpuPercent(window.serverCpu, window.elapsedSeconds),
    generatorCpuMicrosPerCall: cpuMicrosPerCall(window.generatorCpu, window.calls),
    serverCpuMicrosPerCall: cpuMicrosPerCall(window.serverCpu, window.calls),
  };
}

async function openAdminConnection(config: RpcBenchConfig): Promise<ChannelModel> {
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
async function assertFloorQueueMatchesRpcServer(admin: ChannelModel, queues: EchoQueues): Promise<void> {
  const channel = await admin.createChannel();
  channel.on('error', () => undefined);
  try {
    await channel.assertQueue(queues.warren, { durable: true, arguments: rpcServerQueueArguments() });
  } catch (error) {
    throw new Error(`the floor queue is not declared like RpcServer's route queue: ${(error as Error).message}`);
  }
  await channel.close();
}

async function deleteQueuesAndClose(admin: ChannelModel, queues: EchoQueues): Promise<void> {
  const channel = await admin.createChannel();
  for (const queue of declaredQueues(queues)) await channel.deleteQueue(queue);
  await admin.close();
}

async function openFloorClient(amqpUrl: string, queues: EchoQueues, cleanups: CleanupStack): Promise<EchoCall> {
  const floor = await withTimeout(
    FloorEchoClient.open(amqpUrl, queues.floor),
    CONNECT_TIMEOUT_MS,
    'floor client did not connect',
  );
  cleanups.defer(() => floor.close());
  return async () => assertEcho(await floor.call(ECHO_PAYLOAD));
}

async function openWarrenClient(amqpUrl: string, queues: EchoQueues, cleanups: CleanupStack): Promise<EchoCall> {
  // Default options, as shipped: confirm channel, persistent and mandatory publishes, 5 s deadline.
  const client = new RpcClient({ url: amqpUrl, connectionName: 'warren-bench-client' });
  // Deferred before start(): a client that never connects keeps retrying until closed.
  cleanups.defer(() => client.close());
  await withTimeout(client.start(), CONNECT_TIMEOUT_MS, 'warren client did not connect');
  const route = echoRoute(queues.warren);
  return async () => assertEcho(await client.call(route, ECHO_PAYLOAD));
}

function printReport(config: RpcBenchConfig, brokerVersionText: string, measurements: readonly Measurement[]): void {
  const context: RunContext = {
    brokerAddress: config.brokerAddress,
    brokerVersion: brokerVersionText,
    cpus: availableParallelism(),
    seconds: config.seconds,
    warmupSeconds: config.warmupSeconds,
    rounds: config.rounds,
    sliceSeconds: slicing(config.seconds, MIN_SLICES).sliceSeconds,
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
