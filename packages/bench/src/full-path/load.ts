/**
 * The two ways the generator loads a server: closed loop (C clients, each
 * sending its next request when the last is answered: throughput and latency
 * at a concurrency) and open loop (requests sent at a given arrival rate,
 * however slowly they are answered: what overload and soak need). Open-loop
 * latencies run from the moment a request was due, not from when it could be
 * sent, so a generator or server falling behind shows in them.
 */
import { driveClosedLoop } from '../core/closed-loop';
import { latencyPercentiles } from '../core/statistics';
import type { HttpPool } from './http-client';
import type { Operation, Outcome, PreparedRequest, Workload } from './workload';

/** How many requests of each outcome, with a few of the problems behind the errors. */
export interface OutcomeCounts {
  ok: number;
  shed: number;
  errors: number;
  problems: string[];
}

export interface ClosedLoopResult extends OutcomeCounts {
  elapsedSeconds: number;
}

const MAX_PROBLEMS_KEPT = 5;

function emptyCounts(): OutcomeCounts {
  return { ok: 0, shed: 0, errors: 0, problems: [] };
}

function count(counts: OutcomeCounts, outcome: Outcome, problem?: string): void {
  if (outcome === 'ok') counts.ok++;
  else if (outcome === 'shed') counts.shed++;
  else {
    counts.errors++;
    if (problem && counts.problems.length < MAX_PROBLEMS_KEPT && !counts.problems.includes(problem)) {
      counts.problems.push(problem);
    }
  }
}

/** Sends one request and classifies its response; a failed connection is an error. */
async function exchange(
  pool: HttpPool,
  workload: Workload,
  request: PreparedRequest,
): Promise<{ outcome: Outcome; problem?: string; sentAt?: number }> {
  try {
    const response = await pool.request(request.bytes);
    return { ...workload.check(request, response), sentAt: response.sentAt };
  } catch (error) {
    return { outcome: 'error', problem: (error as Error).message };
  }
}

/**
 * `concurrency` clients until `seconds` have passed (see ../core/closed-loop.ts).
 * Latencies (ms) of served requests go to `latenciesMs`.
 */
export async function runClosedLoop(
  pool: HttpPool,
  workload: Workload,
  operation: Operation,
  concurrency: number,
  seconds: number,
  latenciesMs: number[] | null,
): Promise<ClosedLoopResult> {
  const counts = emptyCounts();
  const elapsedSeconds = await driveClosedLoop(concurrency, seconds, async () => {
    const request = workload.next(operation);
    if (request instanceof Error) {
      count(counts, 'error', request.message);
      return false;
    }
    const sentAt = performance.now();
    const { outcome, problem } = await exchange(pool, workload, request);
    if (outcome === 'ok') latenciesMs?.push(performance.now() - sentAt);
    count(counts, outcome, problem);
    return true;
  });
  return { ...counts, elapsedSeconds };
}

/**
 * Arrival rate that goes linearly from `startRate` to `endRate` (requests/s)
 * over `rampSeconds`, then stays at `endRate` until `totalSeconds`.
 */
export class ArrivalSchedule {
  private readonly slope: number;
  private readonly rampRequests: number;

  constructor(
    readonly startRate: number,
    readonly endRate: number,
    readonly rampSeconds: number,
    readonly totalSeconds: number,
  ) {
    this.slope = rampSeconds > 0 ? (endRate - startRate) / rampSeconds : 0;
    this.rampRequests = startRate * rampSeconds + (this.slope * rampSeconds * rampSeconds) / 2;
  }

  static constant(rate: number, seconds: number): ArrivalSchedule {
    return new ArrivalSchedule(rate, rate, 0, seconds);
  }

  rateAt(seconds: number): number {
    return seconds < this.rampSeconds ? this.startRate + this.slope * seconds : this.endRate;
  }

  /** Requests due by `seconds` after the start. */
  dueBy(seconds: number): number {
    const t = Math.min(seconds, this.totalSeconds);
    if (t <= this.rampSeconds) return this.startRate * t + (this.slope * t * t) / 2;
    return this.rampRequests + this.endRate * (t - this.rampSeconds);
  }

  /** When request number `index` (from 0) is due, in seconds after the start. */
  dueAt(index: number): number {
    if (index >= this.rampRequests) return this.rampSeconds + (index - this.rampRequests) / this.endRate;
    if (Math.abs(this.slope) < 1e-9) return index / this.startRate;
    // Solve startRate·t + slope·t²/2 = index for t.
    const a = this.slope / 2;
    return (-this.startRate + Math.sqrt(this.startRate * this.startRate + 4 * a * index)) / (2 * a);
  }

  get totalRequests(): number {
    return Math.floor(this.dueBy(this.totalSeconds));
  }
}

/** One stretch of an open-loop run. */
export interface OpenLoopBucket extends OutcomeCounts {
  startSeconds: number;
  offeredRate: number;
  p50Ms: number;
  p99Ms: number;
}

export interface OpenLoopResult extends OutcomeCounts {
  /** Served requests' latency from when they were written to a connection: what the server alone took. */
  sentP50Ms: number;
  sentP99Ms: number;
  /** Requests sent in the whole run, warm-up included. */
  offered: number;
  /** Requests still unanswered when the drain time ran out. */
  unfinished: number;
  elapsedSeconds: number;
  p50Ms: number;
  p99Ms: number;
  /** Largest number of requests that waited in the generator for a free connection. */
  maxQueued: number;
  buckets: OpenLoopBucket[];
}

interface BucketState extends OutcomeCounts {
  offered: number;
  latenciesMs: number[];
}

/**
 * Sends requests on `schedule` whatever happens to earlier ones, up to the
 * pool's connection limit (beyond it they wait in the generator, and their
 * wait counts in their latency). Figures are kept per `bucketSeconds`
 * stretch, by when each request was due. `onlyAfterSeconds`: requests due
 * before it (a warm-up) count in the buckets but not in the totals.
 */
export async function runOpenLoop(
  pool: HttpPool,
  workload: Workload,
  operation: Operation,
  schedule: ArrivalSchedule,
  options: { bucketSeconds: number; drainTimeoutMs: number; totalsAfterSeconds?: number },
): Promise<OpenLoopResult> {
  const totals = emptyCounts();
  const totalLatenciesMs: number[] = [];
  const totalSentLatenciesMs: number[] = [];
  const buckets: BucketState[] = [];
  const totalsAfter = options.totalsAfterSeconds ?? 0;
  const total = schedule.totalRequests;
  let sent = 0;
  let outstanding = 0;
  let maxQueued = 0;
  let onSettled: (() => void) | null = null;
  // Set when the drain time ran out: answers arriving after that are not counted.
  let over = false;
  const startedAt = performance.now();

  const fire = (dueSeconds: number): void => {
    const dueAt = startedAt + dueSeconds * 1000;
    const bucketIndex = Math.floor(dueSeconds / options.bucketSeconds);
    const bucket = (buckets[bucketIndex] ??= { ...emptyCounts(), offered: 0, latenciesMs: [] });
    bucket.offered++;
    const inTotals = dueSeconds >= totalsAfter;
    const settle = (outcome: Outcome, problem?: string, sentAt?: number): void => {
      if (over) return;
      if (outcome === 'ok') {
        const now = performance.now();
        bucket.latenciesMs.push(now - dueAt);
        if (inTotals) {
          totalLatenciesMs.push(now - dueAt);
          if (sentAt !== undefined) totalSentLatenciesMs.push(now - sentAt);
        }
      }
      count(bucket, outcome, problem);
      if (inTotals) count(totals, outcome, problem);
      outstanding--;
      onSettled?.();
    };
    outstanding++;
    const request = workload.next(operation);
    if (request instanceof Error) {
      settle('error', request.message);
      return;
    }
    void exchange(pool, workload, request).then(({ outcome, problem, sentAt }) => settle(outcome, problem, sentAt));
  };

  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const due = Math.min(total, Math.floor(schedule.dueBy((performance.now() - startedAt) / 1000)));
      while (sent < due) fire(schedule.dueAt(sent++));
      maxQueued = Math.max(maxQueued, pool.queued);
      if (sent < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  const elapsedSeconds = (performance.now() - startedAt) / 1000;

  // Wait for the answers still due, within the drain time.
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, options.drainTimeoutMs);
    onSettled = () => {
      if (outstanding > 0) return;
      clearTimeout(timer);
      resolve();
    };
    onSettled();
  });
  onSettled = null;
  over = true;
  const unfinished = outstanding;
  pool.close();
  const fromSend = latencyPercentiles(totalSentLatenciesMs);

  return {
    ...totals,
    sentP50Ms: fromSend.p50Ms,
    sentP99Ms: fromSend.p99Ms,
    offered: total,
    unfinished,
    elapsedSeconds,
    ...latencyPercentiles(totalLatenciesMs),
    maxQueued,
    buckets: buckets.map((bucket, index) => {
      const startSeconds = index * options.bucketSeconds;
      const { latenciesMs, offered, ...counts } = bucket;
      return {
        ...counts,
        startSeconds,
        offeredRate: offered / options.bucketSeconds,
        ...latencyPercentiles(latenciesMs),
      };
    }),
  };
}
