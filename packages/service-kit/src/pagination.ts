import { RpcError } from '@warren/rpc';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Keyset cursor: the id of the last item of a page, made opaque so clients
 * do not build their own. Ids are UUIDv7, so id order is creation order.
 */
export function encodeCursor(lastId: string): string {
  return Buffer.from(JSON.stringify({ after: lastId })).toString('base64url');
}

/** The id a cursor points after, or an `invalid_argument` error for a cursor this service did not issue. */
export function decodeCursor(cursor: string): string {
  try {
    const decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { after?: unknown };
    if (typeof decoded.after === 'string' && UUID.test(decoded.after)) return decoded.after;
  } catch {
    // fall through to the error below
  }
  throw new RpcError('invalid_argument', 'cursor is not one this service issued', {
    details: [{ path: 'cursor', message: 'invalid cursor' }],
  });
}

/**
 * Turns `limit + 1` fetched rows into a page: the extra row only says that
 * another page exists, and is not returned.
 */
export function toPage<Row extends { id: string }>(
  rows: Row[],
  limit: number,
): { items: Row[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null };
}
