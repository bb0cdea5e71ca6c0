import { decodeCursor, encodeCursor, toPage } from './pagination';

const ids = [
  '0190f3b8-6e1a-7c8e-9d2a-000000000001',
  '0190f3b8-6e1a-7c8e-9d2a-000000000002',
  '0190f3b8-6e1a-7c8e-9d2a-000000000003',
];

describe('keyset cursors', () => {
  it('round-trip an id through an opaque cursor', () => {
    const cursor = encodeCursor(ids[0]!);
    expect(cursor).not.toContain(ids[0]);
    expect(decodeCursor(cursor)).toBe(ids[0]);
  });

  it.each([
    '',
    'not-base64!',
    Buffer.from('{"after":"1; drop table users"}').toString('base64url'),
    Buffer.from('[]').toString('base64url'),
  ])('reject a cursor the service did not issue: %p', (cursor) => {
    expect(() => decodeCursor(cursor)).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
  });

  it('return a next cursor only when a row beyond the limit was fetched', () => {
    const rows = ids.map((id) => ({ id }));
    expect(toPage(rows, 2)).toEqual({ items: rows.slice(0, 2), nextCursor: encodeCursor(ids[1]!) });
    expect(toPage(rows, 3)).toEqual({ items: rows, nextCursor: null });
    expect(toPage([], 3)).toEqual({ items: [], nextCursor: null });
  });
});
