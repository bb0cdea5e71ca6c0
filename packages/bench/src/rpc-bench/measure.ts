/** What the generator measures of echo calls: closed-loop windows, and the CPU time both processes spent on them. */
import { driveClosedLoop } from '../core/closed-loop';

export type EchoCall = () => Promise<void>;

export interface WindowResult {
  calls: number;
  elapsedSeconds: number;
  /** Round-trip time of every call, in milliseconds, in completion order. */
  latenciesMs: number[];
}

/**
 * `concurrency` callers echoing until `seconds` have passed. Latencies are
 * appended to `latenciesMs`, so the slices of one window can share one array.
 */
export async function runEchoLoop(
  call: EchoCall,
  concurrency: number,
  seconds: number,
  latenciesMs: number[] = [],
): Promise<WindowResult> {
  const callsBefore = latenciesMs.length;
  const elapsedSeconds = await driveClosedLoop(concurrency, seconds, async () => {
    const callStartedAt = performance.now();
    await call();
    latenciesMs.push(performance.now() - callStartedAt);
    return true;
  });
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
