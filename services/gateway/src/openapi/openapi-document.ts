import {
  createOrderBodySchema,
  createUserBodySchema,
  cursorSchema,
  idSchema,
  limitSchema,
  orderItemSchema,
  updateUserBodySchema,
} from '@warren/contracts';
import { z } from 'zod';
import { fieldErrorSchema, PROBLEM_CONTENT_TYPE, problemSchema } from '../errors/problem';
import { idempotencyKeySchema } from '../middleware/idempotency';
import { contractRoutes, type GatewayRoutes } from '../routes/gateway-routes';

type JsonSchema = Record<string, unknown>;
type Operation = Record<string, unknown>;

const REF = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** A string check that trims (zod's `.trim()`), recognised by what it does. */
function trims(schema: z.core.$ZodType): boolean {
  const checks = (schema._zod.def as { checks?: { _zod: { def: { check?: string; tx?: (v: string) => unknown } } }[] })
    .checks;
  return (checks ?? []).some((check) => check._zod.def.check === 'overwrite' && check._zod.def.tx?.(' a ') === 'a');
}

/**
 * Keeps the JSON Schema saying exactly what zod checks: a trimmed string must
 * contain a non-space character, an update must name at least one field (its
 * `.refine`), and an email is what zod's pattern accepts.
 */
function override(ctx: { zodSchema: z.core.$ZodTypes; jsonSchema: z.core.JSONSchema.BaseSchema }): void {
  const { zodSchema, jsonSchema } = ctx;
  if (zodSchema._zod.def.type === 'string' && trims(zodSchema) && jsonSchema.pattern === undefined) {
    jsonSchema.pattern = '\\S';
  }
  if ((zodSchema as unknown) === updateUserBodySchema) jsonSchema.minProperties = 1;
  // zod checks emails with its pattern alone; `format: email` (RFC 5321 limits such as a
  // 64-character local part) would document a stricter rule than the one enforced.
  if (jsonSchema.format === 'email' && typeof jsonSchema.pattern === 'string') {
    delete jsonSchema.format;
    jsonSchema.description ??= 'An email address.';
  }
}

/** Converts registered zod schemas into named component schemas that refer to each other. */
function componentSchemas(schemas: Record<string, z.ZodType>, io: 'input' | 'output'): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
  const generated = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'throw',
    uri: (id) => `#/components/schemas/${id}`,
    override,
  }).schemas as Record<string, JsonSchema>;
  const components: Record<string, JsonSchema> = {};
  for (const [id, schema] of Object.entries(generated)) {
    const { $schema: _schema, $id: _id, ...rest } = schema;
    components[id] = rest;
  }
  return components;
}

/** Input and output components in one map; a name used by both must mean the same schema. */
function mergeComponents(...parts: Record<string, JsonSchema>[]): Record<string, JsonSchema> {
  const merged: Record<string, JsonSchema> = {};
  for (const part of parts) {
    for (const [name, schema] of Object.entries(part)) {
      if (name in merged && JSON.stringify(merged[name]) !== JSON.stringify(schema)) {
        throw new Error(`component ${name} differs between requests and replies`);
      }
      merged[name] = schema;
    }
  }
  return Object.fromEntries(Object.entries(merged).sort(([a], [b]) => a.localeCompare(b)));
}

/** One schema, inline (parameters). */
function inlineSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _schema, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, override }) as JsonSchema;
  return rest;
}

const headerSchemas = {
  requestId: { type: 'string', maxLength: 128 },
  retryAfter: { type: 'string', pattern: '^[0-9]+$' },
};

const requestIdHeader = {
  'X-Request-Id': {
    description: "The request's id: the caller's X-Request-Id when sane, otherwise a generated one.",
    required: true,
    schema: headerSchemas.requestId,
  },
};
const retryAfterHeader = {
  'Retry-After': { description: 'Seconds to wait before retrying.', required: true, schema: headerSchemas.retryAfter },
};

function problemResponse(description: string, extraHeaders: Record<string, unknown> = {}) {
  return {
    description,
    headers: { ...requestIdHeader, ...extraHeaders },
    content: { [PROBLEM_CONTENT_TYPE]: { schema: REF('Problem') } },
  };
}

/** Problem responses every RPC-backed operation can give: each maps from an RPC error code or a gateway check. */
function errorResponses(options: { body: boolean }): Record<string, unknown> {
  const responses: Record<string, unknown> = {
    '400': problemResponse('Invalid input: malformed JSON, a bad path, query or body field, or an unknown field.'),
    '404': problemResponse('The resource does not exist.'),
    '409': problemResponse(
      'A conflict: the resource exists already, or a request with the same Idempotency-Key is in flight.',
    ),
    '422': problemResponse(
      'The service refused the request (invalid argument or failed precondition), or the Idempotency-Key was used with a different request.',
    ),
    '429': problemResponse('Rate limit exceeded.', {
      ...retryAfterHeader,
      RateLimit: { description: 'IETF draft-8 rate limit state.', schema: { type: 'string' } },
      'RateLimit-Policy': { description: 'IETF draft-8 rate limit policy.', schema: { type: 'string' } },
    }),
    '500': problemResponse('Unexpected failure; the problem carries the request id to report.'),
    '503': problemResponse(
      'A service (or, for idempotent requests, Redis) is unavailable; retry later.',
      retryAfterHeader,
    ),
    '504': problemResponse('The service did not answer in time.'),
  };
  if (options.body) {
    responses['413'] = problemResponse('The request body is larger than the limit.');
    responses['415'] = problemResponse('The request body is not application/json.');
  }
  return responses;
}

function jsonResponse(description: string, schemaName: string, extraHeaders: Record<string, unknown> = {}) {
  return {
    description,
    headers: { ...requestIdHeader, ...extraHeaders },
    content: { 'application/json': { schema: REF(schemaName) } },
  };
}

function sortResponses(responses: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * The OpenAPI 3.1 document of the public API, generated from the shared zod
 * contracts (z.toJSONSchema), never written by hand: what the gateway validates
 * is what the document says.
 */
export function buildOpenApiDocument(routes: GatewayRoutes = contractRoutes): Record<string, unknown> {
  const inputComponents = componentSchemas(
    {
      CreateUserBody: createUserBodySchema,
      UpdateUserBody: updateUserBodySchema,
      CreateOrderBody: createOrderBodySchema,
      OrderItem: orderItemSchema,
    },
    'input',
  );
  const outputComponents = componentSchemas(
    {
      User: routes.usersGet.reply,
      UserPage: routes.usersList.reply,
      Order: routes.ordersGet.reply,
      OrderPage: routes.ordersListByUser.reply,
      OrderItem: orderItemSchema,
      Problem: problemSchema,
      FieldError: fieldErrorSchema,
    },
    'output',
  );

  const idParameter = {
    name: 'id',
    in: 'path',
    required: true,
    description: 'A UUID.',
    schema: inlineSchema(idSchema, 'input'),
  };
  const pageParameters = [
    {
      name: 'limit',
      in: 'query',
      required: false,
      description: 'Page size.',
      schema: inlineSchema(limitSchema, 'input'),
    },
    {
      name: 'cursor',
      in: 'query',
      required: false,
      description: 'The nextCursor of the previous page.',
      schema: inlineSchema(cursorSchema, 'input'),
    },
  ];
  const idempotencyKeyParameter = {
    name: 'Idempotency-Key',
    in: 'header',
    required: false,
    description:
      'Makes the request safe to retry: within 24 h the same key with the same request replays the first response (with Idempotent-Replayed: true).',
    schema: inlineSchema(idempotencyKeySchema, 'input'),
  };
  const replayedHeader = {
    'Idempotent-Replayed': {
      description: 'Present (true) when this response is a replay of a stored one.',
      schema: { type: 'string', enum: ['true'] },
    },
  };
  const locationHeader = {
    Location: { description: 'Where the created resource lives.', schema: { type: 'string' } },
  };
  const jsonBody = (schemaName: string) => ({
    required: true,
    content: { 'application/json': { schema: REF(schemaName) } },
  });

  const operation = (
    operationId: string,
    tag: string,
    summary: string,
    parts: {
      parameters?: unknown[];
      requestBody?: unknown;
      success: [status: string, response: unknown];
    },
  ): Operation => ({
    operationId,
    tags: [tag],
    summary,
    ...(parts.parameters ? { parameters: parts.parameters } : {}),
    ...(parts.requestBody ? { requestBody: parts.requestBody } : {}),
    responses: sortResponses({
      [parts.success[0]]: parts.success[1],
      ...errorResponses({ body: parts.requestBody !== undefined }),
    }),
  });

  const paths = {
    '/v1/users': {
      post: operation('usersCreate', 'users', 'Create a user', {
        parameters: [idempotencyKeyParameter],
        requestBody: jsonBody('CreateUserBody'),
        success: ['201', jsonResponse('The created user.', 'User', { ...locationHeader, ...replayedHeader })],
      }),
      get: operation('usersList', 'users', 'List users, a page at a time', {
        parameters: pageParameters,
        success: ['200', jsonResponse('A page of users.', 'UserPage')],
      }),
    },
    '/v1/users/{id}': {
      get: operation('usersGet', 'users', 'Get a user', {
        parameters: [idParameter],
        success: [
          '200',
          jsonResponse('The user.', 'User', {
            'X-Cache': {
              description: 'Whether the read cache answered (hit), missed, or was bypassed (Redis unavailable).',
              schema: { type: 'string', enum: ['hit', 'miss', 'bypass'] },
            },
          }),
        ],
      }),
      patch: operation('usersUpdate', 'users', "Change a user's name or email", {
        parameters: [idParameter],
        requestBody: jsonBody('UpdateUserBody'),
        success: ['200', jsonResponse('The updated user.', 'User')],
      }),
    },
    '/v1/users/{id}/orders': {
      get: operation('ordersListByUser', 'orders', "List a user's orders, a page at a time", {
        parameters: [idParameter, ...pageParameters],
        success: ['200', jsonResponse('A page of orders.', 'OrderPage')],
      }),
    },
    '/v1/orders': {
      post: operation('ordersCreate', 'orders', 'Place an order', {
        parameters: [idempotencyKeyParameter],
        requestBody: jsonBody('CreateOrderBody'),
        success: ['201', jsonResponse('The placed order.', 'Order', { ...locationHeader, ...replayedHeader })],
      }),
    },
    '/v1/orders/{id}': {
      get: operation('ordersGet', 'orders', 'Get an order', {
        parameters: [idParameter],
        success: ['200', jsonResponse('The order.', 'Order')],
      }),
    },
    '/v1/orders/{id}/cancel': {
      post: operation('ordersCancel', 'orders', 'Cancel an order', {
        parameters: [idParameter, idempotencyKeyParameter],
        success: ['200', jsonResponse('The cancelled order.', 'Order', replayedHeader)],
      }),
    },
  };

  return {
    openapi: '3.1.0',
    info: {
      title: 'Warren API',
      version: '0.1.0',
      description:
        'Users and orders over HTTP. Every error is an RFC 9457 application/problem+json document. ' +
        'Each request is answered by a worker over RabbitMQ RPC.',
    },
    tags: [
      { name: 'users', description: 'Users (users service).' },
      { name: 'orders', description: 'Orders (orders service).' },
    ],
    paths,
    components: { schemas: mergeComponents(inputComponents, outputComponents) },
  };
}
