import { MAX_IDEMPOTENCY_KEY_LENGTH } from '@warren/contracts';
import { idempotencyKeyFrom, InvalidIdempotencyKeyError } from './idempotency';

describe('idempotencyKeyFrom', () => {
  it('is undefined when the caller sent no key', () => {
    expect(idempotencyKeyFrom({})).toBeUndefined();
    expect(idempotencyKeyFrom({ 'x-request-id': 'abc' })).toBeUndefined();
  });

  it('returns the key as sent', () => {
    expect(idempotencyKeyFrom({ 'x-idempotency-key': ' Key-1 ' })).toBe(' Key-1 ');
    const longest = 'k'.repeat(MAX_IDEMPOTENCY_KEY_LENGTH);
    expect(idempotencyKeyFrom({ 'x-idempotency-key': longest })).toBe(longest);
  });

  it.each([
    ['empty', ''],
    ['too long', 'k'.repeat(MAX_IDEMPOTENCY_KEY_LENGTH + 1)],
    ['not a string', 42],
  ])('refuses a key that is %s with invalid_argument', (_what, value) => {
    const attempt = () => idempotencyKeyFrom({ 'x-idempotency-key': value });
    expect(attempt).toThrow(InvalidIdempotencyKeyError);
    expect(attempt).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
  });
});
