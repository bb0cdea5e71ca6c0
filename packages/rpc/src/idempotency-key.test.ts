import { IDEMPOTENCY_KEY_HEADER, idempotencyKeyOf, MAX_IDEMPOTENCY_KEY_LENGTH } from './envelope';
import { InvalidIdempotencyKeyError } from './errors';

describe('idempotencyKeyOf', () => {
  it('is undefined when the caller sent no key', () => {
    expect(idempotencyKeyOf({})).toBeUndefined();
    expect(idempotencyKeyOf({ 'x-deadline': 1 })).toBeUndefined();
  });

  it('returns the key as sent', () => {
    expect(idempotencyKeyOf({ [IDEMPOTENCY_KEY_HEADER]: ' Key-1 ' })).toBe(' Key-1 ');
    const longest = 'k'.repeat(MAX_IDEMPOTENCY_KEY_LENGTH);
    expect(idempotencyKeyOf({ [IDEMPOTENCY_KEY_HEADER]: longest })).toBe(longest);
  });

  it.each([
    ['empty', ''],
    ['too long', 'k'.repeat(MAX_IDEMPOTENCY_KEY_LENGTH + 1)],
    ['not a string', 42],
  ])('refuses a key that is %s with invalid_argument', (_what, value) => {
    const attempt = () => idempotencyKeyOf({ [IDEMPOTENCY_KEY_HEADER]: value });
    expect(attempt).toThrow(InvalidIdempotencyKeyError);
    expect(attempt).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
  });
});
