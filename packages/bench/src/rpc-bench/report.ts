import { median } from './measure';

export type Implementation = 'floor' | 'warren';

/** The figures of one implementation at one concurrency: one measurement, or the median of several. */
export interface CellFigures {
  callsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU time over the window in percent of one core, so 100 means a saturated event loop. */
  generatorCpuPercent: number;
  serverCpuPercent: number;
  /**
   * CPU time per call. It moves far less than calls/s when the broker or a
   * neighbour on the machine slows down, so it best isolates what the library costs.
   */
  generatorCpuMicrosPerCall: number;
  serverCpuMicrosPerCall: number;
}

export interface Measurement extends CellFigures {
  implementation: Implementation;
  concurrency: number;
  round: number;
  calls: number;
  elapsedSeconds: number;
}

export interface ConcurrencyRow {
  concurrency: number;
  floor: CellFigures;
  warren: CellFigures;
  /** warren calls/s over floor calls/s, in percent. */
  throughputRatioPercent: number;
}

export interface TargetResult {
  description: string;
  value: number;
  unit: '%' | 'ms';
  met: boolean;
}

export interface RunContext {
  brokerAddress: string;
  brokerVersion: string;
  cpus: number;
  seconds: number;
  warmupSeconds: number;
  rounds: number;
  sliceSeconds: number;
  serverPrefetch: number;
}

// From the spec of @warren/rpc's performance.
const MIN_THROUGHPUT_RATIO_PERCENT = 85;
const THROUGHPUT_TARGET_CONCURRENCIES = [16, 64];
const MAX_P50_MS = 2;
const P50_TARGET_CONCURRENCY = 1;
// Above this the generator's event loop, not the RPC path, may be what limits the rate.
const BUSY_GENERATOR_CPU_PERCENT = 90;

/** One row per concurrency, each figure the median over the rounds. */
export function rowsFrom(measurements: readonly Measurement[], concurrencies: readonly number[]): ConcurrencyRow[] {
  return concurrencies.map((concurrency) => {
    const floor = medianFigures(
      measurements.filter((m) => m.concurrency === concurrency && m.implementation === 'floor'),
    );
    const warren = medianFigures(
      measurements.filter((m) => m.concurrency === concurrency && m.implementation === 'warren'),
    );
    return { concurrency, floor, warren, throughputRatioPercent: (warren.callsPerSecond / floor.callsPerSecond) * 100 };
  });
}

function medianFigures(measurements: readonly Measurement[]): CellFigures {
  const of = (pick: (m: Measurement) => number) => median(measurements.map(pick));
  return {
    callsPerSecond: of((m) => m.callsPerSecond),
    p50Ms: of((m) => m.p50Ms),
    p99Ms: of((m) => m.p99Ms),
    generatorCpuPercent: of((m) => m.generatorCpuPercent),
    serverCpuPercent: of((m) => m.serverCpuPercent),
    generatorCpuMicrosPerCall: of((m) => m.generatorCpuMicrosPerCall),
    serverCpuMicrosPerCall: of((m) => m.serverCpuMicrosPerCall),
  };
}

export function evaluateTargets(rows: readonly ConcurrencyRow[]): TargetResult[] {
  const targets: TargetResult[] = [];
  for (const concurrency of THROUGHPUT_TARGET_CONCURRENCIES) {
    const row = rows.find((r) => r.concurrency === concurrency);
    if (!row) continue;
    targets.push({
      description: `warren throughput >= ${MIN_THROUGHPUT_RATIO_PERCENT}% of floor at concurrency ${concurrency}`,
      value: row.throughputRatioPercent,
      unit: '%',
      met: row.throughputRatioPercent >= MIN_THROUGHPUT_RATIO_PERCENT,
    });
  }
  const latencyRow = rows.find((r) => r.concurrency === P50_TARGET_CONCURRENCY);
  if (latencyRow) {
    targets.push({
      description: `warren p50 < ${MAX_P50_MS} ms at concurrency ${P50_TARGET_CONCURRENCY}`,
      value: latencyRow.warren.p50Ms,
      unit: 'ms',
      met: latencyRow.warren.p50Ms < MAX_P50_MS,
    });
  }
  return targets;
}

export function formatReport(
  context: RunContext,
  rows: readonly ConcurrencyRow[],
  targets: readonly TargetResult[],
): string {
  const roundsNote = context.rounds === 1 ? '1 round' : `median of ${context.rounds} rounds`;
  const lines = [
    `RPC echo round trips: ${context.seconds} s window per implementation after ${context.warmupSeconds} s warm-up, ` +
      `floor and warren alternating in ${context.sliceSeconds} s slices; ${roundsNote}`,
    `RabbitMQ ${context.brokerVersion} at ${context.brokerAddress}, quorum queues, server prefetch ${context.serverPrefetch}; ` +
      `Node ${process.version}; ${context.cpus} CPUs shared by broker, generator and server`,
    '',
    ...formatTable(rows),
    '',
    'Pairs are floor / warren. CPU % is CPU time over the window in percent of one core; CPU µs/call adds',
    'the generator and server processes (not the broker) and moves far less than calls/s on a busy machine.',
    ...busyGeneratorWarnings(rows),
    '',
    'Targets',
    ...targets.map((t) => `  ${t.description}: ${formatTargetValue(t)} -> ${t.met ? 'met' : 'NOT MET'}`),
  ];
  return lines.join('\n');
}

function formatTable(rows: readonly ConcurrencyRow[]): string[] {
  const header = [
    'concurrency',
    'floor calls/s',
    'warren calls/s',
    'warren/floor',
    'floor p50/p99 ms',
    'warren p50/p99 ms',
    'generator CPU %',
    'server CPU %',
    'gen+server CPU µs/call',
  ];
  const body = rows.map((row) => [
    String(row.concurrency),
    row.floor.callsPerSecond.toFixed(0),
    row.warren.callsPerSecond.toFixed(0),
    `${row.throughputRatioPercent.toFixed(1)}%`,
    `${row.floor.p50Ms.toFixed(3)} / ${row.floor.p99Ms.toFixed(3)}`,
    `${row.warren.p50Ms.toFixed(3)} / ${row.warren.p99Ms.toFixed(3)}`,
    `${row.floor.generatorCpuPercent.toFixed(0)} / ${row.warren.generatorCpuPercent.toFixed(0)}`,
    `${row.floor.serverCpuPercent.toFixed(0)} / ${row.warren.serverCpuPercent.toFixed(0)}`,
    `${cpuPerCall(row.floor).toFixed(0)} / ${cpuPerCall(row.warren).toFixed(0)}`,
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...body.map((cells) => (cells[column] ?? '').length)),
  );
  const render = (cells: readonly string[]) =>
    cells.map((cell, column) => cell.padStart(widths[column] ?? 0)).join(' | ');
  return [render(header), widths.map((width) => '-'.repeat(width)).join('-|-'), ...body.map(render)];
}

function cpuPerCall(figures: CellFigures): number {
  return figures.generatorCpuMicrosPerCall + figures.serverCpuMicrosPerCall;
}

function busyGeneratorWarnings(rows: readonly ConcurrencyRow[]): string[] {
  const warnings: string[] = [];
  for (const row of rows) {
    for (const implementation of ['floor', 'warren'] as const) {
      const cpu = row[implementation].generatorCpuPercent;
      if (cpu >= BUSY_GENERATOR_CPU_PERCENT) {
        warnings.push(
          `warning: the generator used ${cpu.toFixed(0)}% of a core for ${implementation} at concurrency ` +
            `${row.concurrency}; that figure may be limited by the load generator.`,
        );
      }
    }
  }
  return warnings;
}

function formatTargetValue(target: TargetResult): string {
  return target.unit === '%' ? `${target.value.toFixed(1)}%` : `${target.value.toFixed(3)} ms`;
}

/** Every figure, for machines: settings, the per-concurrency medians, each raw measurement and the targets. */
export function jsonReport(
  context: RunContext,
  rows: readonly ConcurrencyRow[],
  measurements: readonly Measurement[],
  targets: readonly TargetResult[],
): string {
  return JSON.stringify({
    benchmark: 'rpc-echo',
    settings: { ...context, node: process.version },
    rows,
    measurements,
    targets,
  });
}
