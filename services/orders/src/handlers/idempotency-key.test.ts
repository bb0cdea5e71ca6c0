import { InvalidIdempotencyKeyError } from '../errors';
import { idempotencyKeyOf, MAX_IDEMPOTENCY_KEY_LENGTH } from './idempotency-key';

describe('idempotencyKeyOf', () => {
  it('is undefined when the header is absent', () => {
    expect(idempotencyKeyOf({})).toBeUndefined();
    expect(idempotencyKeyOf({ 'x-idempotency-key': null })).toBeUndefined();
  });

  it('returns the key as sent', () => {
    expect(idempotencyKeyOf({ 'x-idempotency-key': 'a6f1c1e2-retry' })).toBe('a6f1c1e2-retry');
    const longest = 'k'.repeat(MAX_IDEMPOTENCY_KEY_LENGTH);
    expect(idempotencyKeyOf({ 'x-idempotency-key': longest })).toBe(longest);
  });

  it('refuses empty, oversized and non-string keys with invalid_argument', () => {
    for (const value of ['', 'k'.repeat(MAX_IDEMPOTENCY_KEY_LENGTH + 1), 42, Buffer.from('key')]) {
      expect(() => idempotencyKeyOf({ 'x-idempotency-key': value })).toThrow(InvalidIdempotencyKeyError);
    }
    expect(() => idempotencyKeyOf({ 'x-idempotency-key': '' })).toThrow(
      expect.objectContaining({
        code: 'invalid_argument',
        details: [expect.objectContaining({ path: 'x-idempotency-key' })],
      }),
    );
  });
});
