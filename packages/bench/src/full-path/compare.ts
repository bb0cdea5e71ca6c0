/**
 * The default run: the full path against the floor, POST and GET /v1/users
 * then POST /v1/orders at each concurrency (the rows --routes names), in the
 * alternating order of ../core/schedule.ts.
 */
import type { Progress } from '../core/program';
import { alternatingSchedule, runAlternatingSlices, slicing, type Implementation, type Step } from '../core/schedule';
import { medianOfEach } from '../core/statistics';
import type { FullPathConfig } from './config';
import type { BenchEnvironment, ProcessName } from './environment';
import { CpuAccount, Measurer } from './measure';

/** POST /v1/users, GET /v1/users/:id, POST /v1/orders. */
export type CellOperation = 'create' | 'get' | 'order';

/** Processes that serve each implementation; the load generator and Jaeger are reported apart. */
const USERS_SERVER_PROCESSES: Record<Implementation, ProcessName[]> = {
  floor: ['floorHttp', 'floorWorker'],
  warren: ['gateway', 'users'],
};
/** An order goes through the orders worker too, which asks the users worker (the floor's: the same). */
const ORDERS_SERVER_PROCESSES: Record<Implementation, ProcessName[]> = {
  floor: ['floorHttp', 'floorWorker', 'floorOrdersWorker'],
  warren: ['gateway', 'users', 'orders'],
};

/** The processes whose CPU time counts as serving `operation` through `implementation`. */
export function serverProcesses(operation: CellOperation, implementation: Implementation): ProcessName[] {
  return (operation === 'order' ? ORDERS_SERVER_PROCESSES : USERS_SERVER_PROCESSES)[implementation];
}

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
  /** Server processes (floor HTTP + floor worker(s), or gateway + users (+ orders)), in percent of one core. */
  serverCpuPercent: number;
  /** Server processes' CPU time per request served: what each request costs them, whatever the rate. */
  serverCpuMicrosPerRequest: number;
  /** Gateway / users (/ orders), or floor HTTP / floor worker (/ floor orders worker), separately, per request. */
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

/** One operation at one concurrency. POST /v1/users comes first at each concurrency: its users are read next. */
interface Cell {
  concurrency: number;
  operation: CellOperation;
}

// Two slices at least, so that each implementation opens one.
const MIN_SLICES = 2;

/** Cuts the window of each implementation and cell into the slices the report names. */
export function comparisonSlicing(seconds: number): { slices: number; sliceSeconds: number } {
  return slicing(seconds, MIN_SLICES);
}

export async function runComparison(
  config: FullPathConfig,
  environment: BenchEnvironment,
  progress: Progress,
): Promise<Measurement[]> {
  const measurer = new Measurer(environment);
  const cells = config.concurrencies.flatMap((concurrency) =>
    config.operations.map((operation): Cell => ({ concurrency, operation })),
  );
  const measurements: Measurement[] = [];
  const steps = alternatingSchedule(
    config.rounds,
    cells,
    (cell) => `${cell.operation} at concurrency ${cell.concurrency}`,
  );
  for (const step of steps) {
    progress(step.description);
    measurements.push(...(await measureStep(step, config, measurer)));
  }
  return measurements;
}

/** What one implementation's slices of a step add up to. */
interface SlicedWindow {
  account: CpuAccount;
  served: number;
  elapsedSeconds: number;
  errors: number;
  problems: string[];
}

async function measureStep(step: Step<Cell>, config: FullPathConfig, measurer: Measurer): Promise<Measurement[]> {
  const { concurrency, operation } = step.cell;
  const windowName = (implementation: Implementation) => `${step.round}-${operation}-${concurrency}-${implementation}`;
  const windows = Object.fromEntries(
    step.order.map((implementation): [Implementation, SlicedWindow] => [
      implementation,
      { account: new CpuAccount(), served: 0, elapsedSeconds: 0, errors: 0, problems: [] },
    ]),
  ) as Record<Implementation, SlicedWindow>;
  const { slices, sliceSeconds } = comparisonSlicing(config.seconds);
  await runAlternatingSlices(
    step.order,
    slices,
    (implementation) =>
      measurer.closed({ implementation, operation, concurrency, seconds: config.warmupSeconds, window: null }),
    async (implementation) => {
      const window = windows[implementation];
      const result = await measurer.closed(
        { implementation, operation, concurrency, seconds: sliceSeconds, window: windowName(implementation) },
        window.account,
      );
      window.served += result.ok;
      window.elapsedSeconds += result.elapsedSeconds;
      window.errors += result.errors + result.shed;
      for (const problem of result.problems) if (!window.problems.includes(problem)) window.problems.push(problem);
    },
  );
  const measurements: Measurement[] = [];
  for (const implementation of step.order) {
    const window = windows[implementation];
    const summary = await measurer.window(windowName(implementation));
    const seconds = window.elapsedSeconds;
    const { account } = window;
    const servers = serverProcesses(operation, implementation);
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
  for (const operation of config.operations) {
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

const MEDIAN_FIGURES = [
  'requestsPerSecond',
  'p50Ms',
  'p99Ms',
  'generatorCpuPercent',
  'serverCpuPercent',
  'serverCpuMicrosPerRequest',
  'jaegerCpuPercent',
  'machineBusyPercent',
] as const satisfies readonly (keyof CellFigures)[];

/** The figures of one cell over its rounds: medians, but counts of requests and errors add up. */
function medianFigures(measurements: readonly Measurement[]): CellFigures {
  const processes = Object.keys(measurements[0]?.serverCpuMicrosPerRequestByProcess ?? {}) as ProcessName[];
  return {
    ...medianOfEach(measurements, MEDIAN_FIGURES),
    served: measurements.reduce((sum, m) => sum + m.served, 0),
    errors: measurements.reduce((sum, m) => sum + m.errors, 0),
    problems: [...new Set(measurements.flatMap((m) => m.problems))].slice(0, 5),
    serverCpuMicrosPerRequestByProcess: medianOfEach(
      measurements.map((m) => m.serverCpuMicrosPerRequestByProcess),
      processes,
    ),
  };
}
