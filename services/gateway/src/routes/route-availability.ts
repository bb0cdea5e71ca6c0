import { RpcUnavailableError } from '@warren/rpc';
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
 * full timeout; with it the gateway answers 503 at once.
 */
export class RouteAvailability {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly rpc: GatewayRpcClient,
    private readonly ttlMs = 1000,
    private readonly probeTimeoutMs = 1000,
  ) {}

  /** The route's consumer count, or undefined when it cannot be known right now. */
  async consumers(routeName: string): Promise<number | undefined> {
    let entry = this.entries.get(routeName);
    if (!entry) {
      entry = { at: 0, consumers: undefined, refreshing: undefined };
      this.entries.set(routeName, entry);
    }
    // Only the very first answer is waited for; afterwards the last known one serves while a fresh one comes.
    if (entry.at === 0) return this.refresh(routeName, entry);
    if (Date.now() - entry.at >= this.ttlMs) void this.refresh(routeName, entry);
    return entry.consumers;
  }

  /** Throws a retriable `unavailable` error when the route is known to have no consumer. */
  async assertServed(routeName: string): Promise<void> {
    if ((await this.consumers(routeName)) === 0) {
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
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.rpc.routeStatus(routeName).then((status) => status.consumers),
        new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), this.probeTimeoutMs))),
      ]);
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}
