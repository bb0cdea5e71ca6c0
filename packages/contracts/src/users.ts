import { defineRoute } from '@warren/rpc';
import { z } from 'zod';
import { cursorSchema, idSchema, limitSchema, pageOf, timestampSchema } from './common';

const nameSchema = z.string().trim().min(1).max(200);
const emailSchema = z.email().max(320);

export const userSchema = z.object({
  id: idSchema,
  name: z.string(),
  email: z.string(),
  createdAt: timestampSchema,
  updatedAt: timestampSchema,
});
export type User = z.infer<typeof userSchema>;

/** Body of POST /v1/users. */
export const createUserBodySchema = z.strictObject({ name: nameSchema, email: emailSchema });
/** Body of PATCH /v1/users/:id: at least one field. */
export const updateUserBodySchema = z
  .strictObject({ name: nameSchema.optional(), email: emailSchema.optional() })
  .refine((body) => body.name !== undefined || body.email !== undefined, {
    message: 'give at least one of name and email',
  });

export const usersCreate = defineRoute('users.create', { request: createUserBodySchema, reply: userSchema });
export const usersGet = defineRoute('users.get', { request: z.strictObject({ id: idSchema }), reply: userSchema });
export const usersList = defineRoute('users.list', {
  request: z.strictObject({ limit: limitSchema, cursor: cursorSchema.optional() }),
  reply: pageOf(userSchema),
});
export const usersUpdate = defineRoute('users.update', {
  request: z
    .strictObject({ id: idSchema, name: nameSchema.optional(), email: emailSchema.optional() })
    .refine((body) => body.name !== undefined || body.email !== undefined, {
      message: 'give at least one of name and email',
    }),
  reply: userSchema,
});
