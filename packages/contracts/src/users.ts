import { defineRoute, MAX_CALLER_SUBJECT_LENGTH } from '@warren/rpc';
import { z } from 'zod';
import { cursorSchema, idSchema, limitSchema, pageOf, timestampSchema } from './common';

/** A UTF-16 surrogate without its other half: not a character, and UTF-8 (PostgreSQL) would store U+FFFD instead. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Any Unicode text (emoji, right-to-left scripts, combining marks) is kept exactly as sent, except what cannot be:
 * U+0000 (PostgreSQL's text cannot store NUL) and lone surrogates (not text; they would come back as U+FFFD) are
 * refused here — 400 at the gateway, invalid_argument at a worker — rather than failing or changing at the database.
 */
function storable(text: z.ZodString) {
  return (
    text
      // eslint-disable-next-line no-control-regex -- NUL is exactly what is refused
      .regex(/^[^\u0000]*$/, 'must not contain the NUL character (U+0000)')
      .refine((value) => !LONE_SURROGATE.test(value), 'must be well-formed Unicode (a lone surrogate is not)')
  );
}

const nameSchema = storable(z.string().trim().min(1).max(200));
const emailSchema = z.email().max(320);
/** An access token's `sub`, as the identity provider issued it. */
const subjectSchema = storable(z.string().min(1).max(MAX_CALLER_SUBJECT_LENGTH));

export const userSchema = z
  .object({
    id: idSchema,
    name: z.string(),
    email: z.string(),
    /** The token subject this user is bound to: whoever holds a token for it acts as this user. */
    subject: z.string().nullable(),
    createdAt: timestampSchema,
    updatedAt: timestampSchema,
  })
  .meta({ id: 'User' });
export type User = z.infer<typeof userSchema>;

/**
 * Body of POST /v1/users. The new user is bound to the caller's token subject; only an admin names another
 * `subject` (or none: a user no token acts as).
 */
export const createUserBodySchema = z
  .strictObject({ name: nameSchema, email: emailSchema, subject: subjectSchema.optional() })
  .meta({ id: 'CreateUserBody' });
/** Body of PATCH /v1/users/:id: at least one field (`minProperties` says in JSON Schema what the refinement checks). */
export const updateUserBodySchema = z
  .strictObject({ name: nameSchema.optional(), email: emailSchema.optional() })
  .refine((body) => body.name !== undefined || body.email !== undefined, {
    message: 'give at least one of name and email',
  })
  .meta({ id: 'UpdateUserBody', minProperties: 1 });

export const usersCreate = defineRoute('users.create', { request: createUserBodySchema, reply: userSchema });
export const usersGet = defineRoute('users.get', { request: z.strictObject({ id: idSchema }), reply: userSchema });
export const usersList = defineRoute('users.list', {
  request: z.strictObject({ limit: limitSchema, cursor: cursorSchema.optional() }),
  reply: pageOf(userSchema, 'UserPage'),
});
export const usersUpdate = defineRoute('users.update', {
  request: z
    .strictObject({ id: idSchema, name: nameSchema.optional(), email: emailSchema.optional() })
    .refine((body) => body.name !== undefined || body.email !== undefined, {
      message: 'give at least one of name and email',
    }),
  reply: userSchema,
});
