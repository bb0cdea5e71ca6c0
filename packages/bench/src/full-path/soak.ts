/**
 * --soak: the full path at a constant arrival rate (creates and reads
 * alternating) for minutes, with the gateway's memory sampled throughout.
 * After a warm-up, memory should stay flat: growth means something is kept
 * per request.
 */
import type { Progress } from '../core/program';
import { formatTable, formatTargets, type TargetResult } from '../core/report';
import { median } from '../core/statistics';
import type { FullPathConfig } from './config';
import type { BenchEnvironment } from './environment';
import { CpuAccount, MemoryRecorder, Measurer, type MemorySample } from './measure';
import { machineDescription } from './report';

const SAMPLE_INTERVAL_MS = 5000;
const TIMELINE_SECONDS = 30;
const MAX_GROWTH_PERCENT = 10;
const CAPACITY_CONCURRENCY = 16;
const CAPACITY_SECONDS = 5;
const SOAK_SHARE_OF_CAPACITY = 0.5;

export interface SoakReport {
  rate: number;
  capacity: number | undefined;
  warmupSeconds: number;
  offered: number;
  served: number;
  shed: number;
  errors: number;
  problems: string[];
  p50Ms: number;
  p99Ms: number;
  generatorCpuPercent: number;
  gatewayCpuPercent: number;
  usersCpuPercent: number;
  samples: MemorySample[];
  rssGrowthPercent: number;
  heapGrowthPercent: number;
  targets: TargetResult[];
}

export async function runSoak(
  config: FullPathConfig,
  environment: BenchEnvironment,
  progress: Progress,
): Promise<SoakReport> {
  const measurer = new Measurer(environment);
  let capacity: number | undefined;
  let rate = config.soakRate;
  if (rate === undefined) {
    progress(`measuring capacity: mixed requests at concurrency ${CAPACITY_CONCURRENCY} for ${CAPACITY_SECONDS} s`);
    const measured = await measurer.closedWindow(
      { implementation: 'warren', operation: 'mix', concurrency: CAPACITY_CONCURRENCY },
      CAPACITY_SECONDS,
      config.warmupSeconds,
    );
    capacity = measured.requestsPerSecond;
    rate = Math.round(capacity * SOAK_SHARE_OF_CAPACITY);
  }
  const warmupSeconds = Math.min(60, config.soakSeconds * 0.2);
  progress(`soak: ${rate} requests/s for ${config.soakSeconds} s (the first ${warmupSeconds} s are warm-up)`);
  const memory = new MemoryRecorder(environment, SAMPLE_INTERVAL_MS).start();
  const account = new CpuAccount();
  const result = await measurer.open(
    {
      implementation: 'warren',
      operation: 'mix',
      schedule: { startRate: rate, endRate: rate, rampSeconds: 0, totalSeconds: config.soakSeconds },
      maxConnections: 256,
      bucketSeconds: TIMELINE_SECONDS,
      drainTimeoutMs: 10_000,
      totalsAfterSeconds: warmupSeconds,
    },
    account,
  );
  const samples = memory.stop();
  const afterWarmup = samples.filter((sample) => sample.atSeconds >= warmupSeconds);
  const span = Math.max(1, Math.floor(afterWarmup.length / 4));
  const first = afterWarmup.slice(0, span);
  const last = afterWarmup.slice(-span);
  const growth = (pick: (sample: MemorySample) => number, of: (values: number[]) => number) =>
    (of(last.map(pick)) / of(first.map(pick)) - 1) * 100;
  // RSS: the median of each stretch. Heap: its low-water mark (what survives collections), not the sawtooth.
  const rssGrowthPercent = growth((s) => s.gatewayRssBytes, medianOf);
  const heapGrowthPercent = growth((s) => s.gatewayHeapUsedBytes, minOf);
  const seconds = result.elapsedSeconds;
  const served = result.ok;
  const targets: TargetResult[] = [
    {
      description: `gateway RSS growth after warm-up < ${MAX_GROWTH_PERCENT}%`,
      value: `${rssGrowthPercent.toFixed(1)}%`,
      met: rssGrowthPercent < MAX_GROWTH_PERCENT,
    },
    {
      description: `gateway heap-used growth (low-water mark) after warm-up < ${MAX_GROWTH_PERCENT}%`,
      value: `${heapGrowthPercent.toFixed(1)}%`,
      met: heapGrowthPercent < MAX_GROWTH_PERCENT,
    },
  ];
  return {
    rate,
    capacity,
    warmupSeconds,
    offered: result.offered,
    served,
    shed: result.shed,
    errors: result.errors + result.unfinished,
    problems: result.problems,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    generatorCpuPercent: account.percent('generator', seconds),
    gatewayCpuPercent: account.percent('gateway', seconds),
    usersCpuPercent: account.percent('users', seconds),
    samples,
    rssGrowthPercent,
    heapGrowthPercent,
    targets,
  };
}

/** A sample is NaN when its process or scrape did not answer: it says nothing of the memory. */
function medianOf(values: number[]): number {
  return median(values.filter(Number.isFinite));
}

function minOf(values: number[]): number {
  const finite = values.filter(Number.isFinite);
  return finite.length > 0 ? Math.min(...finite) : Number.NaN;
}

const MB = 2 ** 20;

export function formatSoak(config: FullPathConfig, report: SoakReport, tracingNote: string): string {
  const timeline: string[][] = [];
  for (let at = 0; at <= config.soakSeconds; at += TIMELINE_SECONDS) {
    const stretch = report.samples.filter((s) => s.atSeconds >= at && s.atSeconds < at + TIMELINE_SECONDS);
    if (stretch.length === 0) continue;
    timeline.push([
      `${at}-${at + TIMELINE_SECONDS} s${at + TIMELINE_SECONDS <= report.warmupSeconds ? ' (warm-up)' : ''}`,
      (medianOf(stretch.map((s) => s.gatewayRssBytes)) / MB).toFixed(1),
      (minOf(stretch.map((s) => s.gatewayHeapUsedBytes)) / MB).toFixed(1),
      (Math.max(...stretch.map((s) => s.gatewayHeapUsedBytes).filter(Number.isFinite)) / MB).toFixed(1),
      (medianOf(stretch.map((s) => s.usersRssBytes)) / MB).toFixed(1),
    ]);
  }
  return [
    `Soak: full path, POST /v1/users and GET /v1/users/:id alternating, open loop at ${report.rate} requests/s ` +
      `for ${config.soakSeconds} s` +
      (report.capacity === undefined
        ? ''
        : ` (half the ${report.capacity.toFixed(0)} requests/s measured at concurrency ${CAPACITY_CONCURRENCY})`),
    `Machine: ${machineDescription()}. Tracing: ${tracingNote}.`,
    '',
    ...formatTable(
      ['time', 'gateway RSS MB (median)', 'gateway heap used MB (min)', 'heap used MB (max)', 'users RSS MB'],
      timeline,
    ),
    '',
    `After warm-up (${report.warmupSeconds} s): ${report.served} served, ${report.shed} shed, ${report.errors} failed` +
      `${report.problems.length > 0 ? ` (${report.problems.join('; ')})` : ''}; latency p50 ${report.p50Ms.toFixed(2)} ms, ` +
      `p99 ${report.p99Ms.toFixed(2)} ms (from when each request was due).`,
    `CPU over the run, % of one core: generator ${report.generatorCpuPercent.toFixed(0)}, gateway ` +
      `${report.gatewayCpuPercent.toFixed(0)}, users ${report.usersCpuPercent.toFixed(0)}.`,
    'Growth compares the first and last quarter of the samples after warm-up.',
    '',
    'Targets',
    ...formatTargets(report.targets),
  ].join('\n');
}
