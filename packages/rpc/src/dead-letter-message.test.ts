import { answerOf, BROKER_HEADERS, deathOf, DEFAULT_REPLAY_TIMEOUT_MS, replayPlan } from './dead-letter-message';
import { DEADLINE_HEADER, encodeError, encodeResult, IDEMPOTENCY_KEY_HEADER } from './envelope';
import { RpcError } from './errors';

// A message dead-lettered twice, as amqplib decodes it: each entry has the shape RabbitMQ 3.10 gives it, newest first.
const deadTwice = {
  'x-death': [
    {
      count: 1,
      reason: 'delivery_limit',
      queue: 'users.create',
      time: { '!': 'timestamp', value: 1_796_221_313 },
      exchange: '',
      'routing-keys': ['users.create'],
    },
    {
      count: 2,
      reason: 'rejected',
      queue: 'users.create',
      time: { '!': 'timestamp', value: 1_796_221_000 },
      exchange: '',
      'routing-keys': ['users.create'],
    },
  ],
  'x-first-death-exchange': '',
  'x-first-death-queue': 'users.create',
  'x-first-death-reason': 'rejected',
  'x-delivery-count': 3,
};

describe('deathOf', () => {
  it('reads the newest x-death entry, the first one: reason, queue, time in epoch ms, count', () => {
    expect(deathOf(deadTwice)).toEqual({
      reason: 'delivery_limit',
      queue: 'users.create',
      time: 1_796_221_313_000,
      count: 1,
    });
  });

  it('takes a time given as plain seconds, and survives an entry with fields missing', () => {
    expect(deathOf({ 'x-death': [{ reason: 'expired', queue: 'q', time: 10 }] })).toEqual({
      reason: 'expired',
      queue: 'q',
      time: 10_000,
      count: 1,
    });
    expect(deathOf({ 'x-death': [{}] })).toEqual({ reason: 'unknown', queue: 'unknown', time: undefined, count: 1 });
  });

  it('is undefined for a message the broker never dead-lettered', () => {
    expect(deathOf({})).toBeUndefined();
    expect(deathOf({ 'x-death': [] })).toBeUndefined();
    expect(deathOf({ 'x-death': 'not an array' })).toBeUndefined();
  });
});

describe('replayPlan', () => {
  const now = 1_000_000;
  const request = { [IDEMPOTENCY_KEY_HEADER]: 'k-1', traceparent: '00-abc-def-01' };

  it("keeps a deadline still ahead, the request's own headers, and none of the broker's history", () => {
    const plan = replayPlan({ ...deadTwice, ...request, [DEADLINE_HEADER]: now + 500 }, now);
    expect(plan).toEqual({ replay: true, deadline: now + 500, headers: { ...request, [DEADLINE_HEADER]: now + 500 } });
    if (plan.replay) for (const header of BROKER_HEADERS) expect(plan.headers).not.toHaveProperty(header);
  });

  it('refuses a dead letter whose deadline has passed, saying when and how to force it', () => {
    expect(replayPlan({ ...request, [DEADLINE_HEADER]: now }, now)).toEqual({
      replay: false,
      reason: `its deadline passed at ${new Date(now).toISOString()} (--force replays it)`,
    });
  });

  it('gives a forced replay, or one without a deadline, a new deadline timeoutMs from now', () => {
    expect(replayPlan({ ...request, [DEADLINE_HEADER]: now - 1 }, now, { force: true, timeoutMs: 3000 })).toEqual({
      replay: true,
      deadline: now + 3000,
      headers: { ...request, [DEADLINE_HEADER]: now + 3000 },
    });
    expect(replayPlan(request, now)).toMatchObject({ replay: true, deadline: now + DEFAULT_REPLAY_TIMEOUT_MS });
  });

  it('does not let force shorten a deadline still ahead', () => {
    expect(replayPlan({ [DEADLINE_HEADER]: now + 60_000 }, now, { force: true, timeoutMs: 10 })).toMatchObject({
      deadline: now + 60_000,
    });
  });
});

describe('answerOf', () => {
  it('is ok for a result, and the code and message of an error reply', () => {
    expect(answerOf('users.create', encodeResult({ id: 'u1' }))).toEqual({ ok: true });
    expect(answerOf('users.create', encodeError(new RpcError('conflict', 'email taken')))).toEqual({
      ok: false,
      code: 'conflict',
      message: 'email taken',
    });
  });

  it('is internal for a body that is no reply envelope', () => {
    expect(answerOf('users.create', Buffer.from('nope'))).toEqual({
      ok: false,
      code: 'internal',
      message: 'undecodable reply from users.create',
    });
  });
});
