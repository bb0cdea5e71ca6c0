/**
 * Measurements the orchestrating process takes: one closed-loop slice with
 * the CPU time every process spent on it, and the gateway's memory.
 */
import type { BenchEnvironment, ProcessName } from './environment';
import type { ClosedLoopCall, OpenLoopCall, WindowSummary } from './generator';
import type { ClosedLoopResult, OpenLoopResult } from './load';
import { CpuSampler, processRssBytes } from '../core/proc';

// Beyond its planned length, the longest a generator call may take before the run is declared stuck.
const CALL_GRACE_MS = 30_000;

export type CpuMicros = Partial<Record<ProcessName, number>>;

/** CPU time spent by each process over some slices, and the machine's busy and total time. */
export class CpuAccount {
  readonly micros: CpuMicros = {};
  private machineBusy = 0;
  private machineTotal = 0;

  add(before: ReturnType<CpuSampler<ProcessName>['sample']>, after: ReturnType<CpuSampler<ProcessName>['sample']>) {
    for (const [name, value] of Object.entries(after.processes) as [ProcessName, number][]) {
      const spent = value - (before.processes[name] ?? Number.NaN);
      if (Number.isFinite(spent)) this.micros[name] = (this.micros[name] ?? 0) + spent;
    }
    this.machineBusy += after.machine.busy - before.machine.busy;
    this.machineTotal += after.machine.total - before.machine.total;
  }

  /** CPU time of a process in percent of one core over `seconds`. */
  percent(name: ProcessName, seconds: number): number {
    return ((this.micros[name] ?? Number.NaN) / 1e6 / seconds) * 100;
  }

  machineBusyPercent(): number {
    return this.machineTotal > 0 ? (this.machineBusy / this.machineTotal) * 100 : Number.NaN;
  }
}

export class Measurer {
  readonly sampler: CpuSampler<ProcessName>;

  constructor(private readonly environment: BenchEnvironment) {
    this.sampler = new CpuSampler(() => environment.pids() as Record<ProcessName, number>);
  }

  /** A closed-loop run in the generator, its CPU time added to `account` when given. */
  async closed(call: ClosedLoopCall, account?: CpuAccount): Promise<ClosedLoopResult> {
    const before = this.sampler.sample();
    const result = await this.guard(
      this.environment.generator.call<ClosedLoopResult>('closed', call, call.seconds * 1000 + CALL_GRACE_MS),
    );
    account?.add(before, this.sampler.sample());
    return result;
  }

  async window(name: string): Promise<WindowSummary> {
    return this.guard(this.environment.generator.call<WindowSummary>('window', name, CALL_GRACE_MS));
  }

  async open(call: OpenLoopCall, account?: CpuAccount): Promise<OpenLoopResult> {
    const before = this.sampler.sample();
    const result = await this.guard(
      this.environment.generator.call<OpenLoopResult>(
        'open',
        call,
        call.schedule.totalSeconds * 1000 + call.drainTimeoutMs + CALL_GRACE_MS,
      ),
    );
    account?.add(before, this.sampler.sample());
    return result;
  }

  /** Throughput, p50 and p99 of a closed loop of `seconds`, after a warm-up. */
  async closedWindow(
    call: Omit<ClosedLoopCall, 'window' | 'seconds'>,
    seconds: number,
    warmupSeconds: number,
  ): Promise<{ requestsPerSecond: number; p50Ms: number; p99Ms: number; result: ClosedLoopResult }> {
    if (warmupSeconds > 0) await this.closed({ ...call, seconds: warmupSeconds, window: null });
    const window = `${call.implementation}-${call.operation}-${call.concurrency}-${Date.now()}`;
    const result = await this.closed({ ...call, seconds, window });
    const summary = await this.window(window);
    return {
      requestsPerSecond: result.ok / result.elapsedSeconds,
      p50Ms: summary.p50Ms,
      p99Ms: summary.p99Ms,
      result,
    };
  }

  private guard<T>(promise: Promise<T>): Promise<T> {
    return Promise.race([promise, this.environment.failed]);
  }
}

export interface MemorySample {
  atSeconds: number;
  gatewayRssBytes: number;
  /** From the gateway's /metrics; NaN when the scrape did not answer in time. */
  gatewayHeapUsedBytes: number;
  usersRssBytes: number;
}

const HEAP_USED = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)$/m;

/** Samples the gateway's (and the users worker's) memory every `intervalMs` until stopped. */
export class MemoryRecorder {
  readonly samples: MemorySample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly startedAt = performance.now();

  constructor(
    private readonly environment: BenchEnvironment,
    private readonly intervalMs: number,
  ) {}

  start(): this {
    const tick = async (): Promise<void> => {
      this.samples.push(await sampleMemory(this.environment, (performance.now() - this.startedAt) / 1000));
      this.timer = setTimeout(() => void tick(), this.intervalMs);
    };
    void tick();
    return this;
  }

  stop(): MemorySample[] {
    clearTimeout(this.timer);
    this.timer = undefined;
    return this.samples;
  }
}

export async function sampleMemory(environment: BenchEnvironment, atSeconds: number): Promise<MemorySample> {
  const pids = environment.pids();
  const metrics = await scrape(environment.gatewayUrl, 2000);
  const heap = metrics === undefined ? Number.NaN : Number(HEAP_USED.exec(metrics)?.[1] ?? Number.NaN);
  return {
    atSeconds,
    gatewayRssBytes: processRssBytes(pids.gateway ?? -1),
    gatewayHeapUsedBytes: heap,
    usersRssBytes: processRssBytes(pids.users ?? -1),
  };
}

/** The gateway's Prometheus text, or undefined when it does not answer within `timeoutMs`. */
export async function scrape(gatewayUrl: string, timeoutMs: number): Promise<string | undefined> {
  try {
    const response = await fetch(`${gatewayUrl}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
    return response.ok ? await response.text() : undefined;
  } catch {
    return undefined;
  }
}

/** Sum of every series of a metric in Prometheus text (all label sets). */
export function metricSum(text: string, name: string): number {
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' ')) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) {
      sum += value;
      found = true;
    }
  }
  // A gauge with no series (nothing in flight) is 0; a metric that is not there at all is NaN.
  return found || text.includes(`# TYPE ${name} `) ? sum : Number.NaN;
}
