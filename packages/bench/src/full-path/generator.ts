/**
 * The load-generator process: it makes every request of the benchmark, over
 * keep-alive connections, and keeps the latencies. The orchestrating process
 * tells it what to run and measures everyone's CPU from outside.
 */
import type { RoleHandlers } from '../core/roles';
import { IMPLEMENTATIONS, type Implementation } from '../core/schedule';
import { latencyPercentiles } from '../core/statistics';
import { HttpPool } from './http-client';
import { ArrivalSchedule, runClosedLoop, runOpenLoop, type ClosedLoopResult, type OpenLoopResult } from './load';
import { UserIds, Workload, type Operation } from './workload';

export interface GeneratorSettings {
  runId: string;
  targets: Record<Implementation, { host: string; port: number }>;
  /** Users that exist before the run, to read and to place orders for. */
  seedIds: string[];
  /** Connections kept to each server for closed-loop runs: the highest concurrency. */
  maxConcurrency: number;
}

export interface ClosedLoopCall {
  implementation: Implementation;
  operation: Operation;
  concurrency: number;
  seconds: number;
  /** Where the latencies go, to be summarized with `window`; none for a warm-up. */
  window: string | null;
}

export interface OpenLoopCall {
  implementation: Implementation;
  operation: Operation;
  schedule: { startRate: number; endRate: number; rampSeconds: number; totalSeconds: number };
  maxConnections: number;
  bucketSeconds: number;
  drainTimeoutMs: number;
  totalsAfterSeconds?: number;
}

export interface WindowSummary {
  served: number;
  p50Ms: number;
  p99Ms: number;
}

export function generatorRole(): RoleHandlers {
  let workloads: Record<Implementation, Workload> | undefined;
  let pools: Record<Implementation, HttpPool> | undefined;
  let settings: GeneratorSettings | undefined;
  let ids: UserIds | undefined;
  const windows = new Map<string, number[]>();

  const ready = () => {
    if (!workloads || !pools || !settings || !ids) throw new Error('generator not started');
    return { workloads, pools, settings, ids };
  };

  return {
    async start(raw) {
      settings = raw as GeneratorSettings;
      ids = new UserIds();
      for (const id of settings.seedIds) ids.add(id);
      const { targets, runId, maxConcurrency, seedIds } = settings;
      const userIds = ids;
      workloads = Object.fromEntries(
        IMPLEMENTATIONS.map((implementation) => [
          implementation,
          new Workload(
            implementation,
            targets[implementation].host,
            targets[implementation].port,
            runId,
            userIds,
            seedIds,
          ),
        ]),
      ) as Record<Implementation, Workload>;
      pools = Object.fromEntries(
        IMPLEMENTATIONS.map((implementation) => [
          implementation,
          new HttpPool(targets[implementation].host, targets[implementation].port, maxConcurrency),
        ]),
      ) as Record<Implementation, HttpPool>;
      return {};
    },

    async closed(raw): Promise<ClosedLoopResult> {
      const call = raw as ClosedLoopCall;
      const { workloads, pools } = ready();
      let latencies: number[] | null = null;
      if (call.window !== null) {
        latencies = windows.get(call.window) ?? [];
        windows.set(call.window, latencies);
      }
      return runClosedLoop(
        pools[call.implementation],
        workloads[call.implementation],
        call.operation,
        call.concurrency,
        call.seconds,
        latencies,
      );
    },

    async window(raw): Promise<WindowSummary> {
      const name = raw as string;
      const latenciesMs = windows.get(name) ?? [];
      windows.delete(name);
      return { served: latenciesMs.length, ...latencyPercentiles(latenciesMs) };
    },

    async open(raw): Promise<OpenLoopResult> {
      const call = raw as OpenLoopCall;
      const { workloads, settings } = ready();
      const target = settings.targets[call.implementation];
      const { startRate, endRate, rampSeconds, totalSeconds } = call.schedule;
      return runOpenLoop(
        new HttpPool(target.host, target.port, call.maxConnections),
        workloads[call.implementation],
        call.operation,
        new ArrivalSchedule(startRate, endRate, rampSeconds, totalSeconds),
        {
          bucketSeconds: call.bucketSeconds,
          drainTimeoutMs: call.drainTimeoutMs,
          totalsAfterSeconds: call.totalsAfterSeconds,
        },
      );
    },

    async ids() {
      const { ids } = ready();
      return { size: ids.size, unreadThroughWarren: ids.unread('warren') };
    },

    async stop() {
      for (const pool of Object.values(pools ?? {})) pool.close();
    },
  };
}
