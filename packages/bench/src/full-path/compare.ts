/**
 * The default run: the full path against the floor, POST then GET at each
 * concurrency, the two implementations' windows cut into slices that
 * alternate (ABBA...), so whatever else the machine does meanwhile falls on
 * both alike.
 */
import { median } from '../rpc-bench/measure';
import type { FullPathConfig } from './config';
import type { BenchEnvironment, ProcessName } from './environment';
import { CpuAccount, Measurer } from './measure';
import type { Implementation } from './workload';

export type CellOperation = 'create' | 'get';
export const CELL_OPERATIONS: readonly CellOperation[] = ['create', 'get'];

/** Processes that serve each implementation; the load generator and Jaeger are reported apart. */
export const SERVER_PROCESSES: Record<Implementation, ProcessName[]> = {
  floor: ['floorHttp', 'floorWorker'],
  warren: ['gateway', 'users'],
};

/** One implementation's figures for one operation at one concurrency. */
export interface CellFigures {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  served: number;
  errors: number;
  problems: string[];
  /** CPU time over the window in percent of one core. */
  generatorCpuPercent: number;
  /** Server processes (floor HTTP + floor worker, or gateway + users), in percent of one core. */
  serverCpuPercent: number;
  /** Server processes' CPU time per request served: what each request costs them, whatever the rate. */
  serverCpuMicrosPerRequest: number;
  /** Gateway / users, or floor HTTP / floor worker, separately, per request. */
  serverCpuMicrosPerRequestByProcess: Partial<Record<ProcessName, number>>;
  jaegerCpuPercent: number;
  machineBusyPercent: number;
}

export interface Measurement extends CellFigures {
  round: number;
  concurrency: number;
  operation: CellOperation;
  implementation: Implementation;
}

export interface ComparisonRow {
  operation: CellOperation;
  concurrency: number;
  floor: CellFigures;
  warren: CellFigures;
  /** Full path requests/s over the floor's, in percent. */
  throughputRatioPercent: number;
  /** Full path p99 over the floor's. */
  p99Ratio: number;
}

interface Step {
  round: number;
  concurrency: number;
  operation: CellOperation;
  order: readonly Implementation[];
}

// Short enough that a burst from a neighbour on the machine lands on both implementations.
const SLICE_SECONDS = 1;

export function slicing(seconds: number): { slices: number; sliceSeconds: number } {
  const slices = Math.max(2, Math.round(seconds / SLICE_SECONDS));
  return { slices, sliceSeconds: seconds / slices };
}

/**
 * Every step in the order measured: at each concurrency POST first (its users
 * are read next), then GET. Which implementation opens alternates from step to step.
 */
function schedule(config: FullPathConfig): Step[] {
  const steps: Step[] = [];
  let index = 0;
  for (let round = 1; round <= config.rounds; round++) {
    for (const concurrency of config.concurrencies) {
      for (const operation of CELL_OPERATIONS) {
        const order: Implementation[] = index++ % 2 === 0 ? ['floor', 'warren'] : ['warren', 'floor'];
        steps.push({ round, concurrency, operation, order });
      }
    }
  }
  return steps;
}

export async function runComparison(
  config: FullPathConfig,
  environment: BenchEnvironment,
  progress: (line: string) => void,
): Promise<Measurement[]> {
  const measurer = new Measurer(environment);
  const measurements: Measurement[] = [];
  for (const step of schedule(config)) {
    progress(
      `round ${step.round}/${config.rounds}: ${step.operation} at concurrency ${step.concurrency}, ` +
        `${step.order.join(' first, then ')}`,
    );
    measurements.push(...(await measureStep(step, config, measurer)));
  }
  return measurements;
}

async function measureStep(step: Step, config: FullPathConfig, measurer: Measurer): Promise<Measurement[]> {
  const { concurrency, operation } = step;
  for (const implementation of step.order) {
    await measurer.closed({ implementation, operation, concurrency, seconds: config.warmupSeconds, window: null });
  }
  const windowName = (implementation: Implementation) => `${step.round}-${operation}-${concurrency}-${implementation}`;
  const windows = Object.fromEntries(
    step.order.map((implementation) => [
      implementation,
      { account: new CpuAccount(), served: 0, elapsedSeconds: 0, errors: 0, problems: [] as string[] },
    ]),
  ) as Record<
    Implementation,
    { account: CpuAccount; served: number; elapsedSeconds: number; errors: number; problems: string[] }
  >;
  const { slices, sliceSeconds } = slicing(config.seconds);
  for (let slice = 0; slice < slices; slice++) {
    const order = slice % 2 === 0 ? step.order : [...step.order].reverse();
    for (const implementation of order) {
      const window = windows[implementation];
      const result = await measurer.closed(
        { implementation, operation, concurrency, seconds: sliceSeconds, window: windowName(implementation) },
        window.account,
      );
      window.served += result.ok;
      window.elapsedSeconds += result.elapsedSeconds;
      window.errors += result.errors + result.shed;
      for (const problem of result.problems) if (!window.problems.includes(problem)) window.problems.push(problem);
    }
  }
  const measurements: Measurement[] = [];
  for (const implementation of step.order) {
    const window = windows[implementation];
    const summary = await measurer.window(windowName(implementation));
    const seconds = window.elapsedSeconds;
    const { account } = window;
    const servers = SERVER_PROCESSES[implementation];
    const serverMicros = servers.reduce((sum, name) => sum + (account.micros[name] ?? Number.NaN), 0);
    measurements.push({
      round: step.round,
      concurrency,
      operation,
      implementation,
      requestsPerSecond: window.served / seconds,
      p50Ms: summary.p50Ms,
      p99Ms: summary.p99Ms,
      served: window.served,
      errors: window.errors,
      problems: window.problems,
      generatorCpuPercent: account.percent('generator', seconds),
      serverCpuPercent: (serverMicros / 1e6 / seconds) * 100,
      serverCpuMicrosPerRequest: serverMicros / window.served,
      serverCpuMicrosPerRequestByProcess: Object.fromEntries(
        servers.map((name) => [name, (account.micros[name] ?? Number.NaN) / window.served]),
      ),
      jaegerCpuPercent: account.percent('jaeger', seconds),
      machineBusyPercent: account.machineBusyPercent(),
    });
  }
  return measurements;
}

/** One row per operation and concurrency, each figure the median over the rounds. */
export function comparisonRows(measurements: readonly Measurement[], config: FullPathConfig): ComparisonRow[] {
  const rows: ComparisonRow[] = [];
  for (const operation of CELL_OPERATIONS) {
    for (const concurrency of config.concurrencies) {
      const of = (implementation: Implementation) =>
        medianFigures(
          measurements.filter(
            (m) => m.operation === operation && m.concurrency === concurrency && m.implementation === implementation,
          ),
        );
      const floor = of('floor');
      const warren = of('warren');
      rows.push({
        operation,
        concurrency,
        floor,
        warren,
        throughputRatioPercent: (warren.requestsPerSecond / floor.requestsPerSecond) * 100,
        p99Ratio: warren.p99Ms / floor.p99Ms,
      });
    }
  }
  return rows;
}

function medianFigures(measurements: readonly Measurement[]): CellFigures {
  const of = (pick: (m: Measurement) => number) => median(measurements.map(pick));
  const byProcess: Partial<Record<ProcessName, number>> = {};
  for (const name of Object.keys(measurements[0]?.serverCpuMicrosPerRequestByProcess ?? {}) as ProcessName[]) {
    byProcess[name] = of((m) => m.serverCpuMicrosPerRequestByProcess[name] ?? Number.NaN);
  }
  return {
    requestsPerSecond: of((m) => m.requestsPerSecond),
    p50Ms: of((m) => m.p50Ms),
    p99Ms: of((m) => m.p99Ms),
    served: measurements.reduce((sum, m) => sum + m.served, 0),
    errors: measurements.reduce((sum, m) => sum + m.errors, 0),
    problems: [...new Set(measurements.flatMap((m) => m.problems))].slice(0, 5),
    generatorCpuPercent: of((m) => m.generatorCpuPercent),
    serverCpuPercent: of((m) => m.serverCpuPercent),
    serverCpuMicrosPerRequest: of((m) => m.serverCpuMicrosPerRequest),
    serverCpuMicrosPerRequestByProcess: byProcess,
    jaegerCpuPercent: of((m) => m.jaegerCpuPercent),
    machineBusyPercent: of((m) => m.machineBusyPercent),
  };
}
