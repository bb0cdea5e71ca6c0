/**
 * --stress: overload. The full path's capacity and unloaded latency are
 * measured first (POST /v1/users: every one needs the worker and the
 * database); then the arrival rate ramps from that capacity to three times it
 * and holds there. A gateway that sheds what it cannot serve (503 with
 * Retry-After, MAX_IN_FLIGHT_RPC) keeps serving about its capacity at a
 * bounded latency, in bounded memory.
 */
import type { Progress } from '../core/program';
import { formatTable, formatTargets, type TargetResult } from '../core/report';
import type { FullPathConfig } from './config';
import type { BenchEnvironment } from './environment';
import type { OpenLoopBucket, OpenLoopResult } from './load';
import { CpuAccount, MemoryRecorder, Measurer, metricSum, sampleMemory, scrape, type MemorySample } from './measure';
import { machineDescription } from './report';

const OVERLOAD_FACTOR = 3;
const MAX_ACCEPTED_P99_RATIO = 3;
const CAPACITY_CONCURRENCY = 64;
const MEASURE_SECONDS = 5;
const BUCKET_SECONDS = 2;
// The generator's connections: more than any sensible in-flight cap, so the gateway, not the generator, sheds.
const MAX_CONNECTIONS = 1024;
// Memory is given back when, a minute after the overload, the gateway's RSS is within 10% of its start.
const MAX_SETTLED_RSS_RISE_PERCENT = 10;
const RSS_SETTLE_SECONDS = 60;
const MB = 2 ** 20;

export interface StressReport {
  maxInFlight: string;
  unloaded: { p50Ms: number; p99Ms: number; requestsPerSecond: number };
  capacity: number;
  capacityConcurrency: number;
  rampSeconds: number;
  holdSeconds: number;
  result: OpenLoopResult;
  hold: {
    offeredRate: number;
    acceptedRate: number;
    shedRate: number;
    errors: number;
    unanswered: number;
    p50Ms: number;
    p99Ms: number;
    sentP50Ms: number;
    sentP99Ms: number;
  };
  recovery: { p50Ms: number; p99Ms: number; errors: number };
  memory: {
    baseline: MemorySample;
    samples: MemorySample[];
    peakRssBytes: number;
    holdRiseRssPercent: number;
    settled: MemorySample;
    settledRiseRssPercent: number;
  };
  cpuPercent: { generator: number; gateway: number; users: number; machine: number };
  gatewayMetrics: { shedTotal: number; eventLoopShedTotal: number; rpcClientInFlightAfter: number };
  targets: TargetResult[];
}

export async function runStress(
  config: FullPathConfig,
  environment: BenchEnvironment,
  progress: Progress,
): Promise<StressReport> {
  const measurer = new Measurer(environment);
  progress(`unloaded latency: POST /v1/users at concurrency 1 for ${MEASURE_SECONDS} s`);
  const unloaded = await measurer.closedWindow(
    { implementation: 'warren', operation: 'create', concurrency: 1 },
    MEASURE_SECONDS,
    config.warmupSeconds,
  );
  // Never more clients than the gateway admits: refused at once, they would retry in a storm of 503s.
  const capacityConcurrency = Math.min(CAPACITY_CONCURRENCY, config.maxInFlight ?? CAPACITY_CONCURRENCY);
  progress(`capacity: POST /v1/users at concurrency ${capacityConcurrency} for ${MEASURE_SECONDS} s`);
  const measured = await measurer.closedWindow(
    { implementation: 'warren', operation: 'create', concurrency: capacityConcurrency },
    MEASURE_SECONDS,
    config.warmupSeconds,
  );
  const capacity = measured.requestsPerSecond;
  const rampSeconds = Math.round(config.stressSeconds / 3);
  const holdSeconds = config.stressSeconds - rampSeconds;
  const peakRate = Math.round(capacity * OVERLOAD_FACTOR);

  const baseline = await sampleMemory(environment, 0);
  const metricsBefore = (await scrape(environment.gatewayUrl, 5000)) ?? '';
  const shedBefore = metricSum(metricsBefore, 'rpc_client_shed_total');
  const eventLoopShedBefore = metricSum(metricsBefore, 'http_requests_shed_total');
  progress(
    `stress: ${Math.round(capacity)} -> ${peakRate} requests/s over ${rampSeconds} s, then ${peakRate} for ${holdSeconds} s`,
  );
  const memory = new MemoryRecorder(environment, 1000).start();
  const account = new CpuAccount();
  const result = await measurer.open(
    {
      implementation: 'warren',
      operation: 'create',
      schedule: { startRate: capacity, endRate: peakRate, rampSeconds, totalSeconds: config.stressSeconds },
      maxConnections: MAX_CONNECTIONS,
      bucketSeconds: BUCKET_SECONDS,
      drainTimeoutMs: 15_000,
      totalsAfterSeconds: rampSeconds,
    },
    account,
  );
  const samples = memory.stop();

  progress('recovery: POST /v1/users at concurrency 1 for 3 s');
  const recovery = await measurer.closedWindow({ implementation: 'warren', operation: 'create', concurrency: 1 }, 3, 1);
  const metrics = (await scrape(environment.gatewayUrl, 5000)) ?? '';
  progress(`idle ${RSS_SETTLE_SECONDS} s, then the gateway's RSS again`);
  await new Promise((resolve) => setTimeout(resolve, RSS_SETTLE_SECONDS * 1000));
  const settled = await sampleMemory(environment, RSS_SETTLE_SECONDS);
  const settledRiseRssPercent = (settled.gatewayRssBytes / baseline.gatewayRssBytes - 1) * 100;

  const holdSamples = samples.filter((s) => s.atSeconds >= rampSeconds && s.atSeconds <= config.stressSeconds);
  const firstHalf = holdSamples.filter((s) => s.atSeconds < rampSeconds + holdSeconds / 2);
  const lastStretch = holdSamples.slice(-3);
  const holdRiseRssPercent =
    (Math.max(...lastStretch.map((s) => s.gatewayRssBytes)) / Math.max(...firstHalf.map((s) => s.gatewayRssBytes)) -
      1) *
    100;
  const peakRssBytes = Math.max(...samples.map((s) => s.gatewayRssBytes).filter(Number.isFinite));
  const holdBuckets = result.buckets.filter((b) => b.startSeconds >= rampSeconds);
  const holdRate = (pick: (b: OpenLoopBucket) => number) =>
    holdBuckets.reduce((sum, b) => sum + pick(b), 0) / (holdBuckets.length * BUCKET_SECONDS);
  const hold = {
    offeredRate: holdRate((b) => b.offeredRate * BUCKET_SECONDS),
    acceptedRate: holdRate((b) => b.ok),
    shedRate: holdRate((b) => b.shed),
    errors: result.errors,
    unanswered: result.unfinished,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    sentP50Ms: result.sentP50Ms,
    sentP99Ms: result.sentP99Ms,
  };
  const seconds = result.elapsedSeconds;
  const maxInFlight = config.maxInFlight === undefined ? 'default' : String(config.maxInFlight);
  const p99Ratio = hold.p99Ms / unloaded.p99Ms;
  const targets: TargetResult[] = [
    {
      description: `p99 of accepted requests at ${OVERLOAD_FACTOR}x capacity <= ${MAX_ACCEPTED_P99_RATIO}x unloaded p99`,
      value: `${p99Ratio.toFixed(2)}x (${hold.p99Ms.toFixed(2)} ms vs ${unloaded.p99Ms.toFixed(2)} ms)`,
      met: p99Ratio <= MAX_ACCEPTED_P99_RATIO,
    },
    {
      description: `gateway memory given back: RSS ${RSS_SETTLE_SECONDS} s after within ${MAX_SETTLED_RSS_RISE_PERCENT}% of its start`,
      value:
        `${settledRiseRssPercent.toFixed(1)}% (${(settled.gatewayRssBytes / MB).toFixed(0)} MB after, ` +
        `${(baseline.gatewayRssBytes / MB).toFixed(0)} MB before, peak ${(peakRssBytes / MB).toFixed(0)} MB)`,
      met: settledRiseRssPercent <= MAX_SETTLED_RSS_RISE_PERCENT,
    },
    {
      description: 'excess load is shed (503 + Retry-After), nothing fails',
      value: `${result.shed} shed, ${result.errors} failed in the hold`,
      met: result.shed > 0 && result.errors === 0,
    },
  ];
  return {
    maxInFlight,
    unloaded: { p50Ms: unloaded.p50Ms, p99Ms: unloaded.p99Ms, requestsPerSecond: unloaded.requestsPerSecond },
    capacity,
    capacityConcurrency,
    rampSeconds,
    holdSeconds,
    result,
    hold,
    recovery: {
      p50Ms: recovery.p50Ms,
      p99Ms: recovery.p99Ms,
      errors: recovery.result.errors + recovery.result.shed,
    },
    memory: { baseline, samples, peakRssBytes, holdRiseRssPercent, settled, settledRiseRssPercent },
    cpuPercent: {
      generator: account.percent('generator', seconds),
      gateway: account.percent('gateway', seconds),
      users: account.percent('users', seconds),
      machine: account.machineBusyPercent(),
    },
    gatewayMetrics: {
      shedTotal: metricSum(metrics, 'rpc_client_shed_total') - (Number.isFinite(shedBefore) ? shedBefore : 0),
      eventLoopShedTotal:
        metricSum(metrics, 'http_requests_shed_total') -
        (Number.isFinite(eventLoopShedBefore) ? eventLoopShedBefore : 0),
      rpcClientInFlightAfter: metricSum(metrics, 'rpc_client_in_flight'),
    },
    targets,
  };
}

export function formatStress(report: StressReport, tracingNote: string): string {
  const { result, hold } = report;
  const rssAt = (from: number) => {
    const inBucket = report.memory.samples.filter((s) => s.atSeconds >= from && s.atSeconds < from + BUCKET_SECONDS);
    return inBucket.length > 0 ? (Math.max(...inBucket.map((s) => s.gatewayRssBytes)) / MB).toFixed(0) : '';
  };
  const timeline = result.buckets.map((bucket) => [
    `${bucket.startSeconds}-${bucket.startSeconds + BUCKET_SECONDS} s${bucket.startSeconds < report.rampSeconds ? ' ramp' : ' hold'}`,
    bucket.offeredRate.toFixed(0),
    (bucket.ok / BUCKET_SECONDS).toFixed(0),
    (bucket.shed / BUCKET_SECONDS).toFixed(0),
    String(bucket.errors),
    Number.isFinite(bucket.p50Ms) ? bucket.p50Ms.toFixed(1) : '-',
    Number.isFinite(bucket.p99Ms) ? bucket.p99Ms.toFixed(1) : '-',
    rssAt(bucket.startSeconds),
  ]);
  const whole = result.buckets.reduce(
    (sum, b) => ({ ok: sum.ok + b.ok, shed: sum.shed + b.shed, errors: sum.errors + b.errors }),
    { ok: 0, shed: 0, errors: 0 },
  );
  return [
    `Stress: POST /v1/users through the full path, open loop, ramped from the measured capacity ` +
      `(${report.capacity.toFixed(0)} requests/s at concurrency ${report.capacityConcurrency}) to ${OVERLOAD_FACTOR}x over ` +
      `${report.rampSeconds} s, held ${report.holdSeconds} s; MAX_IN_FLIGHT_RPC ${report.maxInFlight}`,
    `Machine: ${machineDescription()}. Tracing: ${tracingNote}.`,
    `Unloaded (concurrency 1): ${report.unloaded.requestsPerSecond.toFixed(0)} requests/s, p50 ` +
      `${report.unloaded.p50Ms.toFixed(2)} ms, p99 ${report.unloaded.p99Ms.toFixed(2)} ms`,
    '',
    ...formatTable(
      ['time', 'offered/s', 'accepted/s', 'shed/s', 'failed', 'accepted p50 ms', 'accepted p99 ms', 'gateway RSS MB'],
      timeline,
    ),
    '',
    `Whole run: ${result.offered} due, ${whole.ok} accepted, ${whole.shed} shed, ${whole.errors} failed, ` +
      `${result.unfinished} still unanswered 15 s after the end (waiting in the generator, whose ${MAX_CONNECTIONS} ` +
      `connections were all busy: at most ${result.maxQueued} requests waited there).`,
    `Hold at ${OVERLOAD_FACTOR}x: offered ${hold.offeredRate.toFixed(0)}/s, accepted ${hold.acceptedRate.toFixed(0)}/s ` +
      `(${((hold.acceptedRate / report.capacity) * 100).toFixed(0)}% of capacity), shed ${hold.shedRate.toFixed(0)}/s. ` +
      `Accepted latency from when each request was due (what a client waits) p50 ${hold.p50Ms.toFixed(2)} ms, ` +
      `p99 ${hold.p99Ms.toFixed(2)} ms; from when it was written to a connection (the server alone) p50 ` +
      `${hold.sentP50Ms.toFixed(2)} ms, p99 ${hold.sentP99Ms.toFixed(2)} ms.`,
    'The per-stretch table counts requests by when they were due; accepted/s there is not a completion rate.',
    `After: concurrency 1 p50 ${report.recovery.p50Ms.toFixed(2)} ms, p99 ${report.recovery.p99Ms.toFixed(2)} ms, ` +
      `${report.recovery.errors} failed; the gateway's rpc_client_shed_total +${report.gatewayMetrics.shedTotal}, ` +
      `http_requests_shed_total (event loop late) +${report.gatewayMetrics.eventLoopShedTotal}, ` +
      `rpc_client_in_flight ${report.gatewayMetrics.rpcClientInFlightAfter}.`,
    `Gateway RSS: ${(report.memory.baseline.gatewayRssBytes / MB).toFixed(0)} MB before, peak ` +
      `${(report.memory.peakRssBytes / MB).toFixed(0)} MB (end of the hold ${report.memory.holdRiseRssPercent.toFixed(1)}% ` +
      `over its first half), ${(report.memory.settled.gatewayRssBytes / MB).toFixed(0)} MB ${RSS_SETTLE_SECONDS} s after. CPU during the ramp and hold, % of one core: generator ` +
      `${report.cpuPercent.generator.toFixed(0)}, gateway ${report.cpuPercent.gateway.toFixed(0)}, users ` +
      `${report.cpuPercent.users.toFixed(0)}; machine ${report.cpuPercent.machine.toFixed(0)}% busy.`,
    ...(result.problems.length > 0 ? [`Failures: ${result.problems.join('; ')}`] : []),
    '',
    'Targets',
    ...formatTargets(report.targets),
  ].join('\n');
}
