import { isAcceptableRequestId, resolveRequestId } from './request-id';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('request id acceptance', () => {
  it.each(['abc', 'req-123_ABC.def:ghi', 'a b', 'x'.repeat(128), '0190f3b8-6e1a-7c8e-9d2a-1b2c3d4e5f60'])(
    'keeps a sane incoming id: %p',
    (id) => {
      expect(isAcceptableRequestId(id)).toBe(true);
      expect(resolveRequestId(id)).toBe(id);
    },
  );

  it.each([
    ['empty', ''],
    ['too long', 'x'.repeat(129)],
    ['a newline', 'abc\ndef'],
    ['a control character', 'abc\u0007'],
    ['non-ASCII', 'réq'],
    ['leading space', ' abc'],
    ['trailing space', 'abc '],
  ])('replaces an id with %s by a fresh UUID', (_name, id) => {
    expect(isAcceptableRequestId(id)).toBe(false);
    expect(resolveRequestId(id)).toMatch(UUID);
  });

  it('generates an id when there is none, or several', () => {
    expect(resolveRequestId(undefined)).toMatch(UUID);
    expect(resolveRequestId(['a', 'b'])).toMatch(UUID);
    expect(resolveRequestId(undefined)).not.toBe(resolveRequestId(undefined));
  });
});
