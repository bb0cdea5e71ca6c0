import { DEADLINE_HEADER, deadlineOf, decodeReply } from './envelope';
import { RpcError } from './errors';

/**
 * What the broker adds when it dead-letters a message (`x-death` and its summaries) or delivers one from a quorum
 * queue (`x-delivery-count`): the message's history, not part of the request, so a replay leaves them out.
 */
export const BROKER_HEADERS = [
  'x-death',
  'x-first-death-reason',
  'x-first-death-queue',
  'x-first-death-exchange',
  'x-last-death-reason',
  'x-last-death-queue',
  'x-last-death-exchange',
  'x-delivery-count',
] as const;

/** Why, where and when a message was dead-lettered: the newest entry of its `x-death` header. */
export interface Death {
  /**
   * The broker's reason: `rejected` (the RpcServer refused it: undecodable, invalid or without reply_to; its log line
   * and `rpc_server_dead_lettered_total` say which), `delivery_limit` (delivered to a quorum queue's limit without
   * an ack: a poison message that kills workers), `expired` (its deadline passed while it waited in the route's
   * queue) or `maxlen`.
   */
  reason: string;
  /** The queue it was dead-lettered from. */
  queue: string;
  /** When, epoch ms (the broker keeps whole seconds); undefined when the header has no time. */
  time: number | undefined;
  /** How many times it was dead-lettered from that queue for that reason. */
  count: number;
}

/** The message's newest death (RabbitMQ puts the newest first in `x-death`), or undefined for a message with none. */
export function deathOf(headers: Readonly<Record<string, unknown>>): Death | undefined {
  const deaths = headers['x-death'];
  if (!Array.isArray(deaths) || deaths.length === 0) return undefined;
  const newest = deaths[0] as Record<string, unknown>;
  return {
    reason: typeof newest.reason === 'string' ? newest.reason : 'unknown',
    queue: typeof newest.queue === 'string' ? newest.queue : 'unknown',
    time: epochMsOf(newest.time),
    count: typeof newest.count === 'number' ? newest.count : 1,
  };
}

// amqplib decodes an AMQP timestamp (seconds) as { '!': 'timestamp', value }.
function epochMsOf(time: unknown): number | undefined {
  const seconds = typeof time === 'object' && time !== null ? (time as { value?: unknown }).value : time;
  return typeof seconds === 'number' ? seconds * 1000 : undefined;
}

export interface ReplayOptions {
  /** Replay a message whose deadline has passed (default false: it is kept, and the reason says why). */
  force?: boolean;
  /** The deadline given to a replay whose own has passed (forced) or that had none, from now (default 10000 ms). */
  timeoutMs?: number;
}

export const DEFAULT_REPLAY_TIMEOUT_MS = 10_000;

/** What a replay of one dead letter sends: its headers and deadline, or why it is not replayed. */
export type ReplayPlan =
  { replay: true; deadline: number; headers: Record<string, unknown> } | { replay: false; reason: string };

/**
 * Decides the replay of a dead letter at `now`. One whose deadline has passed is refused unless forced: its caller
 * was answered (503 or 504) and may have retried since, so running it now is a decision for the operator. A replay
 * keeps a deadline still ahead, and otherwise gets `now + timeoutMs`; the broker's history headers are left out.
 */
export function replayPlan(
  headers: Readonly<Record<string, unknown>>,
  now: number,
  options: ReplayOptions = {},
): ReplayPlan {
  const original = deadlineOf(headers);
  const expired = original !== undefined && original <= now;
  if (expired && !options.force) {
    return {
      replay: false,
      reason: `its deadline passed at ${new Date(original).toISOString()} (--force replays it)`,
    };
  }
  const deadline =
    original !== undefined && !expired ? original : now + (options.timeoutMs ?? DEFAULT_REPLAY_TIMEOUT_MS);
  const kept = Object.entries(headers).filter(([name]) => !(BROKER_HEADERS as readonly string[]).includes(name));
  return { replay: true, deadline, headers: { ...Object.fromEntries(kept), [DEADLINE_HEADER]: deadline } };
}

/** The route's answer to a replay: its reply envelope, reduced to ok or the error's code and message. */
export type ReplayAnswer = { ok: true } | { ok: false; code: string; message: string };

/** Reads a reply body as `decodeReply` does, for a report rather than a caller. */
export function answerOf(route: string, body: Buffer): ReplayAnswer {
  try {
    decodeReply(route, body);
    return { ok: true };
  } catch (error) {
    const code = error instanceof RpcError ? error.code : 'internal';
    return { ok: false, code, message: (error as Error).message };
  }
}
