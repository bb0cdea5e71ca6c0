import type { DeadLetter } from '@warren/rpc';
import { bodyText, detailLines, headingLine, replayLine, summaryLines } from './dead-letter-report';

const now = Date.parse('2026-12-02T15:00:00.000Z');

function letter(overrides: Partial<DeadLetter> = {}): DeadLetter {
  const headers = {
    'x-deadline': now - 60_000,
    'x-idempotency-key': 'k-1',
    'x-death': [{ count: 1, reason: 'rejected', queue: 'users.create', time: { '!': 'timestamp', value: 1 } }],
    'x-first-death-reason': 'rejected',
    'x-delivery-count': 2,
    'x-raw': Buffer.from('bytes'),
  };
  return {
    position: 2,
    messageId: undefined,
    correlationId: 'c-1',
    death: { reason: 'rejected', queue: 'users.create', time: now - 61_000, count: 1 },
    deadline: now - 60_000,
    headers,
    properties: {
      correlationId: 'c-1',
      replyTo: 'amq.rabbitmq.reply-to.g1h2',
      headers,
      deliveryMode: 2,
    } as unknown as DeadLetter['properties'],
    content: Buffer.from('{"name":"Ada"}'),
    ...overrides,
  };
}

describe('headingLine', () => {
  it('says how many messages the queue holds, and how many of them are shown or chosen', () => {
    expect(headingLine('users.create.dead-letter', 1, 1, false)).toBe('users.create.dead-letter: 1 message');
    expect(headingLine('q', 3, 3, false)).toBe('q: 3 messages');
    expect(headingLine('q', 300, 100, false)).toBe('q: 300 messages, 100 of them shown (--limit for more)');
    expect(headingLine('q', 3, 1, true)).toBe('q: 3 messages, 1 of them chosen');
  });
});

describe('summaryLines', () => {
  it("gives the death, ids, deadline and size, then the request's own headers without the broker's", () => {
    expect(summaryLines(letter(), now)).toEqual([
      '#2 rejected from users.create at 2026-12-02T14:58:59.000Z; correlation-id c-1, message-id -; ' +
        'deadline 2026-12-02T14:59:00.000Z (passed); 14 bytes',
      `   headers {"x-deadline":${now - 60_000},"x-idempotency-key":"k-1","x-raw":"bytes"}`,
    ]);
  });

  it('says how often a message died, and when it never did or has no deadline', () => {
    const again = letter({ death: { reason: 'delivery_limit', queue: 'q', time: undefined, count: 3 } });
    expect(summaryLines(again, now)[0]).toContain('delivery_limit from q at an unknown time (3 times);');
    const direct = letter({ death: undefined, deadline: undefined, headers: {} });
    expect(summaryLines(direct, now)[0]).toBe(
      '#2 no x-death (not dead-lettered by the broker); correlation-id c-1, message-id -; no deadline; 14 bytes',
    );
    expect(summaryLines(letter({ deadline: now + 1 }), now)[0]).toContain('(ahead)');
  });
});

describe('detailLines', () => {
  it('adds the properties that are set, every header with timestamps as dates, and the body', () => {
    const lines = detailLines(letter(), now);
    expect(lines).toHaveLength(4);
    expect(lines[1]).toBe(
      '   properties {"correlationId":"c-1","replyTo":"amq.rabbitmq.reply-to.g1h2","deliveryMode":2}',
    );
    expect(lines[2]).toContain('"x-death":[{"count":1,"reason":"rejected","queue":"users.create",');
    expect(lines[2]).toContain('"time":"1970-01-01T00:00:01.000Z"');
    expect(lines[2]).toContain('"x-delivery-count":2');
    expect(lines[3]).toBe('   body {"name":"Ada"}');
  });
});

describe('bodyText', () => {
  it('is the text of a UTF-8 body and base64 of anything else', () => {
    expect(bodyText(Buffer.from('{{{ not json'))).toBe('{{{ not json');
    expect(bodyText(Buffer.from([0xff, 0xfe, 0x00]))).toBe('base64://4A');
  });
});

describe('replayLine', () => {
  const base = letter();
  it('tells a kept letter with why, and a replayed one with its answer or its lack of one', () => {
    expect(replayLine({ letter: base, status: 'kept', reason: 'its deadline passed' })).toBe(
      '#2 kept: its deadline passed',
    );
    expect(replayLine({ letter: base, status: 'replayed', answer: { ok: true } })).toBe('#2 replayed; answered ok');
    expect(
      replayLine({ letter: base, status: 'replayed', answer: { ok: false, code: 'conflict', message: 'taken' } }),
    ).toBe('#2 replayed; answered conflict: taken');
    expect(replayLine({ letter: base, status: 'replayed' })).toBe('#2 replayed; no answer by its deadline');
  });
});
