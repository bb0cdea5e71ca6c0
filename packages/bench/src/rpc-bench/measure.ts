/** Closed-loop load: C workers, each calling, awaiting the reply, and calling again. */

export type EchoCall = () => Promise<void>;

export interface WindowResult {
  calls: number;
  elapsedSeconds: number;
  /** Round-trip time of every call, in milliseconds, in completion order. */
  latenciesMs: number[];
}

export interface LatencySummary {
  callsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

const NANOSECONDS_PER_SECOND = 1e9;

/**
 * Runs `concurrency` workers until `seconds` have passed. A worker starts no
 * call after the deadline, and the window ends when the last reply is in, so
 * every call counted is a whole round trip and the rate is calls / elapsed.
 * Latencies are appended to `latenciesMs`, so slices can share one array.
 */
export async function runClosedLoop(
  call: EchoCall,
  concurrency: number,
  seconds: number,
  latenciesMs: number[] = [],
): Promise<WindowResult> {
  const callsBefore = latenciesMs.length;
  const startedAt = process.hrtime.bigint();
  const deadline = startedAt + BigInt(Math.round(seconds * NANOSECONDS_PER_SECOND));
  const worker = async (): Promise<void> => {
    while (process.hrtime.bigint() < deadline) {
      const callStartedAt = process.hrtime.bigint();
      await call();
      latenciesMs.push(Number(process.hrtime.bigint() - callStartedAt) / 1e6);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedSeconds = Number(process.hrtime.bigint() - startedAt) / NANOSECONDS_PER_SECOND;
  return { calls: latenciesMs.length - callsBefore, elapsedSeconds, latenciesMs };
}

/**
 * One implementation's measurement window, assembled from the slices it ran
 * in: calls, time and CPU add up; latencies go into one array.
 */
export class SlicedWindow implements WindowResult {
  calls = 0;
  elapsedSeconds = 0;
  readonly latenciesMs: number[] = [];
  generatorCpu: NodeJS.CpuUsage = { user: 0, system: 0 };
  serverCpu: NodeJS.CpuUsage = { user: 0, system: 0 };

  add(slice: WindowResult, generatorCpu: NodeJS.CpuUsage, serverCpu: NodeJS.CpuUsage): void {
    this.calls += slice.calls;
    this.elapsedSeconds += slice.elapsedSeconds;
    this.generatorCpu = addCpuUsage(this.generatorCpu, generatorCpu);
    this.serverCpu = addCpuUsage(this.serverCpu, serverCpu);
  }
}

function addCpuUsage(a: NodeJS.CpuUsage, b: NodeJS.CpuUsage): NodeJS.CpuUsage {
  return { user: a.user + b.user, system: a.system + b.system };
}

export function summarize(window: WindowResult): LatencySummary {
  const sorted = Float64Array.from(window.latenciesMs).sort();
  return {
    callsPerSecond: window.calls / window.elapsedSeconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
  };
}

/** Nearest-rank percentile of ascending values; NaN when there are none. */
export function percentile(ascending: Float64Array, percent: number): number {
  if (ascending.length === 0) return Number.NaN;
  const rank = Math.ceil((percent / 100) * ascending.length);
  return ascending[Math.min(ascending.length, Math.max(1, rank)) - 1] ?? Number.NaN;
}

/** CPU time a process spent during `elapsedSeconds`, in percent of one core. */
export function cpuPercent(usage: NodeJS.CpuUsage, elapsedSeconds: number): number {
  return ((usage.user + usage.system) / 1e6 / elapsedSeconds) * 100;
}

/** CPU time per completed call, in microseconds: what each round trip costs a process, whatever the rate. */
export function cpuMicrosPerCall(usage: NodeJS.CpuUsage, calls: number): number {
  return (usage.user + usage.system) / calls;
}

/** CPU time spent between two cumulative samples, such as the ones the echo-server process reports. */
export function cpuUsageBetween(before: NodeJS.CpuUsage, after: NodeJS.CpuUsage): NodeJS.CpuUsage {
  return { user: after.user - before.user, system: after.system - before.system };
}

/** Median of numbers; the mean of the middle two when their count is even. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const upper = sorted[middle] ?? Number.NaN;
  if (sorted.length % 2 === 1) return upper;
  return ((sorted[middle - 1] ?? Number.NaN) + upper) / 2;
}
