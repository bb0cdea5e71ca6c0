/** Default of `initialReconnectDelayMs`: the wait before the first retry that is not made at once. */
export const DEFAULT_INITIAL_RECONNECT_DELAY_MS = 100;
/** Default of `maxReconnectDelayMs`: against a broker down for long, one attempt per connection every 0.67–1 s. */
export const DEFAULT_MAX_RECONNECT_DELAY_MS = 1000;
/** Each wait is this many times the one before, up to the cap. */
export const RECONNECT_FACTOR = 2;
/** Each wait is its base ± this share of it, drawn evenly, so that clients dropped together drift apart. */
export const RECONNECT_JITTER = 0.2;

export interface ReconnectSchedule {
  initialDelayMs: number;
  maxDelayMs: number;
}

/**
 * The wait before reconnect attempt `attempt` (1 for the first after a drop or after a failed first connect; amqplib
 * counts it and starts again from 1 after every successful connect).
 *
 * With `immediate` (an established connection dropped), attempt 1 is made at once and attempt n waits
 * initialDelayMs × 2^(n−2); without it (a first connect that failed, or a connection that keeps dropping), attempt n
 * waits initialDelayMs × 2^(n−1). Either way ± 20% jitter, and never longer than `maxDelayMs`: as in amqplib's own
 * schedule, the base stops growing at maxDelayMs / 1.2, so that once it is reached the waits stay spread over
 * [0.67, 1] × maxDelayMs instead of piling up on the cap. `random` is Math.random's stand-in in tests.
 */
export function reconnectDelayMs(
  attempt: number,
  immediate: boolean,
  schedule: ReconnectSchedule,
  random: () => number = Math.random,
): number {
  if (immediate && attempt <= 1) return 0;
  const doublings = Math.max(0, immediate ? attempt - 2 : attempt - 1);
  const cap = Math.max(schedule.initialDelayMs, schedule.maxDelayMs);
  const base = Math.min(cap / (1 + RECONNECT_JITTER), schedule.initialDelayMs * RECONNECT_FACTOR ** doublings);
  return Math.max(0, Math.round(base * (1 + RECONNECT_JITTER * (2 * random() - 1))));
}
