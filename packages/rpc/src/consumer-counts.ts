import { beforeDeadline } from './deadline';
import { RpcUnavailableError } from './errors';

/** Asks the broker how many consumers a route's queue has; undefined when it cannot be known right now. */
export type ConsumerProbe = (routeName: string) => Promise<number | undefined>;

interface Entry {
  at: number;
  consumers: number | undefined;
  refreshing: Promise<number | undefined> | undefined;
}

/**
 * How many consumers each route's queue has, cached for `ttlMs` (a stale value is served while a fresh one is
 * fetched, and concurrent callers share one probe).
 *
 * A durable queue with no consumer accepts a message and keeps it until its deadline, so without this a call to a
 * stopped worker would wait for its full timeout; with it the client refuses the call at once (see the client's
 * `failFastWithoutConsumer`). Only a route's very first count is waited for, and no later than the caller's deadline.
 */
export class ConsumerCounts {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly probe: ConsumerProbe,
    /** How long a count is served before it is fetched again. */
    private readonly ttlMs: number,
  ) {}

  /**
   * The route's consumer count, or undefined when it cannot be known right now. A route's first count is waited
   * for no later than `deadline` (epoch ms): past it, rejects with RpcUnavailableError, so a caller can tell "not
   * known by then" (nothing may be sent any more) from "the broker could not say" (the call may still go out).
   */
  async consumers(routeName: string, deadline?: number): Promise<number | undefined> {
    let entry = this.entries.get(routeName);
    if (!entry) {
      entry = { at: 0, consumers: undefined, refreshing: undefined };
      this.entries.set(routeName, entry);
    }
    if (entry.at === 0) {
      const first = this.refresh(routeName, entry);
      if (deadline === undefined) return first;
      return beforeDeadline(
        first,
        deadline,
        () => new RpcUnavailableError(`the consumers of ${routeName} were not known by the deadline`),
      );
    }
    if (Date.now() - entry.at >= this.ttlMs) void this.refresh(routeName, entry);
    return entry.consumers;
  }

  private refresh(routeName: string, entry: Entry): Promise<number | undefined> {
    if (entry.refreshing) return entry.refreshing;
    const refreshing = this.probe(routeName)
      .catch(() => undefined)
      .then((consumers) => {
        entry.consumers = consumers;
        entry.at = Date.now();
        entry.refreshing = undefined;
        return consumers;
      });
    entry.refreshing = refreshing;
    return refreshing;
  }
}
