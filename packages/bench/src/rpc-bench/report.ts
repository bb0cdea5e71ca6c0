/** The rpc benchmark's rows, targets and printed report. */
import { busyGeneratorWarning, formatTable, formatTargets, jsonLine, roundsNote } from '../core/report';
import type { Implementation } from '../core/schedule';
import { medianOfEach } from '../core/statistics';

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

const CELL_FIGURES: readonly (keyof CellFigures)[] = [
  'callsPerSecond',
  'p50Ms',
  'p99Ms',
  'generatorCpuPercent',
  'serverCpuPercent',
  'generatorCpuMicrosPerCall',
  'serverCpuMicrosPerCall',
];

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

/** A target as the JSON line has always carried it: the value as a number, with its unit. */
export interface EchoTargetResult {
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

// Issue 15: @warren/rpc alone stays within 90% of bare amqplib.
const MIN_THROUGHPUT_RATIO_PERCENT = 90;
const THROUGHPUT_TARGET_CONCURRENCIES = [16, 64];
const MAX_P50_MS = 2;
const P50_TARGET_CONCURRENCY = 1;
// Above this the generator's event loop, not the RPC path, may be what limits the rate.
const BUSY_GENERATOR_CPU_PERCENT = 90;

/** One row per concurrency, each figure the median over the rounds. */
export function rowsFrom(measurements: readonly Measurement[], concurrencies: readonly number[]): ConcurrencyRow[] {
  return concurrencies.map((concurrency) => {
    const of = (implementation: Implementation) =>
      medianOfEach(
        measurements.filter((m) => m.concurrency === concurrency && m.implementation === implementation),
        CELL_FIGURES,
      );
    const floor = of('floor');
    const warren = of('warren');
    return { concurrency, floor, warren, throughputRatioPercent: (warren.callsPerSecond / floor.callsPerSecond) * 100 };
  });
}

export function evaluateTargets(rows: readonly ConcurrencyRow[]): EchoTargetResult[] {
  const targets: EchoTargetResult[] = [];
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
  targets: readonly EchoTargetResult[],
): string {
  const lines = [
    `RPC echo round trips: ${context.seconds} s window per implementation after ${context.warmupSeconds} s warm-up, ` +
      `floor and warren alternating in ${context.sliceSeconds} s slices; ${roundsNote(context.rounds)}`,
    `RabbitMQ ${context.brokerVersion} at ${context.brokerAddress}, quorum queues, server prefetch ${context.serverPrefetch}; ` +
      `Node ${process.version}; ${context.cpus} CPUs shared by broker, generator and server`,
    '',
    ...formatRows(rows),
    '',
    'Pairs are floor / warren. CPU % is CPU time over the window in percent of one core; CPU µs/call adds',
    'the generator and server processes (not the broker) and moves far less than calls/s on a busy machine.',
    ...rows.flatMap((row) =>
      (['floor', 'warren'] as const).flatMap((implementation) =>
        busyGeneratorWarning(
          row[implementation].generatorCpuPercent,
          BUSY_GENERATOR_CPU_PERCENT,
          `for ${implementation} at concurrency ${row.concurrency}`,
        ),
      ),
    ),
    '',
    'Targets',
    ...formatTargets(
      targets.map((t) => ({ ...t, value: t.unit === '%' ? `${t.value.toFixed(1)}%` : `${t.value.toFixed(3)} ms` })),
    ),
  ];
  return lines.join('\n');
}

function formatRows(rows: readonly ConcurrencyRow[]): string[] {
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
  const cpuPerCall = (figures: CellFigures) => figures.generatorCpuMicrosPerCall + figures.serverCpuMicrosPerCall;
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
  return formatTable(header, body);
}

/** Every figure, for machines: settings, the per-concurrency medians, each raw measurement and the targets. */
export function jsonReport(
  context: RunContext,
  rows: readonly ConcurrencyRow[],
  measurements: readonly Measurement[],
  targets: readonly EchoTargetResult[],
): string {
  return jsonLine('rpc-echo', { settings: { ...context, node: process.version }, rows, measurements, targets });
}
