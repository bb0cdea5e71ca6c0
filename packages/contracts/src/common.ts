import { z } from 'zod';

export const idSchema = z.uuid();
export const timestampSchema = z.iso.datetime({ offset: false });

/** Page size of list routes. */
export const limitSchema = z.coerce.number().int().min(1).max(100).default(20);
/** Opaque keyset cursor handed out by a previous page. */
export const cursorSchema = z.string().min(1).max(200);

/** The reply of a list route: a page of items and the cursor of the next page, null on the last. */
export function pageOf<Item extends z.ZodType>(item: Item) {
  return z.object({ items: z.array(item), nextCursor: cursorSchema.nullable() });
}
