import { beforeDeadline, RpcUnavailableError } from '@warren/rpc';
import type { GatewayRpcClient } from './gateway-routes';

interface Entry {
  at: number;
  consumers: number | undefined;
  refreshing: Promise<number | undefined> | undefined;
}

/**
 * How many consumers each route's queue has, from RpcClient.routeStatus, cached
 * for `ttlMs` (a stale value is served while a fresh one is fetched).
 *
 * A durable queue with no consumer accepts a message and keeps it until its
 * deadline, so without this check a call to a stopped worker would wait for its
 * full timeout; with it the gateway answers 503 at once. A probe is bounded by
 * `probeTimeoutMs` (RpcClient.routeStatus), and a caller waiting for a route's
 * first answer waits no later than its own deadline.
 */
export class RouteAvailability {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly rpc: GatewayRpcClient,
    /** How long a count is served before it is fetched again (default 1000 ms). */
    private readonly ttlMs = 1000,
    /** Longest wait for one probe (default 1000 ms). */
    private readonly probeTimeoutMs = 1000,
  ) {}

  /** The route's consumer count, or undefined when it cannot be known right now (or by `deadline`, epoch ms). */
  async consumers(routeName: string, deadline?: number): Promise<number | undefined> {
    let entry = this.entries.get(routeName);
    if (!entry) {
      entry = { at: 0, consumers: undefined, refreshing: undefined };
      this.entries.set(routeName, entry);
    }
    // Only the very first answer is waited for; afterwards the last known one serves while a fresh one comes.
    if (entry.at === 0) {
      const first = this.refresh(routeName, entry);
      if (deadline === undefined) return first;
      return beforeDeadline(first, deadline, () => new Error('deadline')).catch(() => undefined);
    }
    if (Date.now() - entry.at >= this.ttlMs) void this.refresh(routeName, entry);
    return entry.consumers;
  }

  /** Throws a retriable `unavailable` error when the route is known to have no consumer. */
  async assertServed(routeName: string, deadline?: number): Promise<void> {
    if ((await this.consumers(routeName, deadline)) === 0) {
      throw new RpcUnavailableError(`no consumer is serving ${routeName}`);
    }
  }

  private refresh(routeName: string, entry: Entry): Promise<number | undefined> {
    if (entry.refreshing) return entry.refreshing;
    const refreshing = this.probe(routeName).then((consumers) => {
      entry.consumers = consumers;
      entry.at = Date.now();
      entry.refreshing = undefined;
      return consumers;
    });
    entry.refreshing = refreshing;
    return refreshing;
  }

  private async probe(routeName: string): Promise<number | undefined> {
    if (!this.rpc.isConnected) return undefined;
    try {
      return (await this.rpc.routeStatus(routeName, { timeoutMs: this.probeTimeoutMs })).consumers;
    } catch {
      return undefined;
    }
  }
}
