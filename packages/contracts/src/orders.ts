import { defineRoute } from '@warren/rpc';
import { z } from 'zod';
import { cursorSchema, idSchema, limitSchema, pageOf, timestampSchema } from './common';

export const MAX_ORDER_ITEMS = 100;
export const MAX_ITEM_QUANTITY = 10_000;
export const MAX_UNIT_PRICE_CENTS = 100_000_000;

export const orderItemSchema = z
  .strictObject({
    sku: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, dot, underscore and dash'),
    quantity: z.number().int().min(1).max(MAX_ITEM_QUANTITY),
    unitPriceCents: z.number().int().min(0).max(MAX_UNIT_PRICE_CENTS),
  })
  .meta({ id: 'OrderItem' });
export type OrderItem = z.infer<typeof orderItemSchema>;

export const currencySchema = z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as EUR');
export const orderStatusSchema = z.enum(['confirmed', 'cancelled']);

export const orderSchema = z
  .object({
    id: idSchema,
    userId: idSchema,
    items: z.array(orderItemSchema),
    totalCents: z.number().int().min(0),
    currency: currencySchema,
    status: orderStatusSchema,
    createdAt: timestampSchema,
    updatedAt: timestampSchema,
  })
  .meta({ id: 'Order' });
export type Order = z.infer<typeof orderSchema>;

/** Body of POST /v1/orders. The total is computed by the orders service, never taken from input. */
export const createOrderBodySchema = z
  .strictObject({
    userId: idSchema,
    items: z.array(orderItemSchema).min(1).max(MAX_ORDER_ITEMS),
    currency: currencySchema,
  })
  .meta({ id: 'CreateOrderBody' });

export const ordersCreate = defineRoute('orders.create', { request: createOrderBodySchema, reply: orderSchema });
export const ordersGet = defineRoute('orders.get', { request: z.strictObject({ id: idSchema }), reply: orderSchema });
export const ordersListByUser = defineRoute('orders.listByUser', {
  request: z.strictObject({ userId: idSchema, limit: limitSchema, cursor: cursorSchema.optional() }),
  reply: pageOf(orderSchema, 'OrderPage'),
});
export const ordersCancel = defineRoute('orders.cancel', {
  request: z.strictObject({ id: idSchema }),
  reply: orderSchema,
});
