import { z } from 'zod';

export const idSchema = z.uuid();
export const timestampSchema = z.iso.datetime({ offset: false });

/** Page size of list routes. */
export const limitSchema = z.coerce.number().int().min(1).max(100).default(20);
/** Opaque keyset cursor handed out by a previous page. */
export const cursorSchema = z.string().min(1).max(200);

/**
 * The reply of a list route: a page of items and the cursor of the next page, null on the last. `id` names it in
 * the API's documents (e.g. `UserPage`).
 */
export function pageOf<Item extends z.ZodType>(item: Item, id: string) {
  return z.object({ items: z.array(item), nextCursor: cursorSchema.nullable() }).meta({ id });
}

/** Path parameters of the HTTP routes on one entity: `{ id }`, a UUID. */
export const idParamsSchema = z.strictObject({ id: idSchema.meta({ description: 'A UUID.' }) });
/** Query of the HTTP list routes: a page size and an optional cursor. */
export const pageQuerySchema = z.strictObject({
  limit: limitSchema.meta({ description: 'Page size.' }),
  cursor: cursorSchema.meta({ description: 'The nextCursor of the previous page.' }).optional(),
});
