import { canonicalJson, idempotencyFingerprint, idempotencyRedisKey, isValidIdempotencyKey } from './idempotency';

describe('idempotency fingerprint', () => {
  const body = { name: 'Ada', email: 'ada@example.com', items: [{ b: 1, a: 2 }] };

  it('is a sha256 hex digest', () => {
    expect(idempotencyFingerprint('POST', '/v1/users', body)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('ignores key order and whitespace, at every level', () => {
    const reordered = JSON.parse('{ "items": [ { "a": 2, "b": 1 } ], "email": "ada@example.com", "name": "Ada" }');
    expect(idempotencyFingerprint('POST', '/v1/users', reordered)).toBe(
      idempotencyFingerprint('post', '/v1/users', body),
    );
  });

  it('differs with the body, the path or the method', () => {
    const base = idempotencyFingerprint('POST', '/v1/users', body);
    expect(idempotencyFingerprint('POST', '/v1/users', { ...body, name: 'Grace' })).not.toBe(base);
    expect(idempotencyFingerprint('POST', '/v1/orders', body)).not.toBe(base);
    expect(idempotencyFingerprint('PATCH', '/v1/users', body)).not.toBe(base);
    // Array order is meaningful.
    expect(canonicalJson([1, 2])).not.toBe(canonicalJson([2, 1]));
  });

  it('tells an absent body from an empty one', () => {
    expect(canonicalJson(undefined)).toBe('');
    expect(canonicalJson({})).toBe('{}');
    expect(idempotencyFingerprint('POST', '/v1/orders/1/cancel', undefined)).not.toBe(
      idempotencyFingerprint('POST', '/v1/orders/2/cancel', undefined),
    );
  });
});

describe('Idempotency-Key format', () => {
  it.each(['a', 'k'.repeat(255), '0190f3b8-6e1a-7c8e-9d2a-1b2c3d4e5f60', 'order 42/retry#1'])('accepts %p', (key) => {
    expect(isValidIdempotencyKey(key)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['too long', 'k'.repeat(256)],
    ['a control character', 'abc\u0001'],
    ['non-ASCII', 'clé'],
    ['surrounding spaces', ' abc '],
  ])('rejects a key that is %s', (_name, key) => {
    expect(isValidIdempotencyKey(key)).toBe(false);
  });
});

describe('idempotency Redis key', () => {
  it('keeps one space per subject, and one for unauthenticated callers', () => {
    const keys = [
      idempotencyRedisKey('warren:idempotency:', 'alice', 'k1'),
      idempotencyRedisKey('warren:idempotency:', 'bob', 'k1'),
      idempotencyRedisKey('warren:idempotency:', undefined, 'k1'),
    ];
    expect(new Set(keys).size).toBe(3);
    expect(keys[0]).toBe('warren:idempotency:subject:alice:k1');
  });

  it('cannot be forged by a subject or key containing the separator', () => {
    // Without encoding, subject "a:b" with key "c" and subject "a" with key "b:c" would share a record.
    expect(idempotencyRedisKey('p:', 'a:b', 'c')).not.toBe(idempotencyRedisKey('p:', 'a', 'b:c'));
    expect(idempotencyRedisKey('p:', 'anonymous', 'k')).not.toBe(idempotencyRedisKey('p:', undefined, 'k'));
  });
});
