import { jsonSchemaOverride as override } from '@warren/contracts';
import { z } from 'zod';
import { PROBLEM_CONTENT_TYPE, problemSchema } from '../errors/problem';
import { idempotencyKeySchema } from '../middleware/idempotency';
import { openApiPath, type ApiRoute } from '../routes/api-route';
import { API_ROUTES } from '../routes/api-routes';

type JsonSchema = Record<string, unknown>;
type Operation = Record<string, unknown>;

const REF = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** A schema's component name: the `id` of its metadata in @warren/contracts (or the gateway's Problem). */
function componentName(schema: z.ZodType): string {
  const id = z.globalRegistry.get(schema)?.id;
  if (typeof id !== 'string') throw new Error('a schema the API documents has no id in its metadata');
  return id;
}

const COMPONENT_REF = '#/components/schemas/';

/** The component names a generated schema refers to. */
function referencedNames(value: unknown, found: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) for (const entry of value) referencedNames(entry, found);
  else if (value && typeof value === 'object') {
    for (const [key, entry] of Object.entries(value)) {
      if (key === '$ref' && typeof entry === 'string' && entry.startsWith(COMPONENT_REF)) {
        found.add(entry.slice(COMPONENT_REF.length));
      } else referencedNames(entry, found);
    }
  }
  return found;
}

/**
 * The components a document needs: the request bodies (as zod reads them: `io: input`) and the replies and
 * problems (as zod writes them: `io: output`), and every schema with an id they refer to, from the same side. A
 * name used on both sides must mean the same schema.
 */
function componentSchemas(roots: { input: z.ZodType[]; output: z.ZodType[] }): Record<string, JsonSchema> {
  const generate = (io: 'input' | 'output') => {
    const { schemas } = z.toJSONSchema(z.globalRegistry, {
      target: 'draft-2020-12',
      io,
      unrepresentable: 'throw',
      uri: (id) => `${COMPONENT_REF}${id}`,
      override,
    }) as { schemas: Record<string, JsonSchema> };
    return schemas;
  };
  const components: Record<string, JsonSchema> = {};
  for (const io of ['input', 'output'] as const) {
    const generated = generate(io);
    const pending = roots[io].map(componentName);
    const seen = new Set<string>();
    while (pending.length > 0) {
      const name = pending.pop()!;
      if (seen.has(name)) continue;
      seen.add(name);
      const { $schema: _schema, $id: _id, id: _metaId, ...schema } = generated[name]!;
      if (name in components && JSON.stringify(components[name]) !== JSON.stringify(schema)) {
        throw new Error(`component ${name} differs between requests and replies`);
      }
      components[name] = schema;
      pending.push(...referencedNames(schema));
    }
  }
  return Object.fromEntries(Object.entries(components).sort(([a], [b]) => a.localeCompare(b)));
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

type PathItems = Record<string, Record<string, Operation>>;

const SUCCESS = /^2\d\d$/;

/** The component a response's JSON body refers to, if any. */
function responseComponent(response: unknown): string | undefined {
  const ref = (response as { content?: Record<string, { schema?: { $ref?: string } }> })?.content?.['application/json']
    ?.schema?.$ref;
  return ref?.replace('#/components/schemas/', '');
}

function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

/**
 * OpenAPI links between operations, derived from the document itself rather than written per path, so a client
 * (or a stateful fuzzer such as schemathesis) can follow what one response names into the next request:
 *
 * - a resource is a component returned by a `GET …/{id}` operation (User, Order); that path is its home, and every
 *   operation under it (`GET`/`PATCH /v1/users/{id}`, `GET /v1/users/{id}/orders`…) takes the resource's id;
 * - a response holding a resource links to each of those with its `id`, and with its `<resource>Id` fields
 *   (an Order's `userId`) to the operations of the resource they name;
 * - it also links to every operation whose request body has a `<resource>Id` field, filling it in
 *   (a created User → POST /v1/orders with that `userId`);
 * - a page (`{ items, nextCursor }`) links its first item the same way, and its `nextCursor` to the next page.
 */
function addLinks(paths: PathItems, components: Record<string, JsonSchema>): void {
  const operations = Object.entries(paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]) => ({ path, method, operation })),
  );
  const successOf = (operation: Operation) =>
    Object.entries(operation.responses as Record<string, Record<string, unknown>>).find(([status]) =>
      SUCCESS.test(status),
    );

  // Resource → the operations that take its id in the path.
  const homes = new Map<string, string>();
  for (const { path, method, operation } of operations) {
    const component = responseComponent(successOf(operation)?.[1]);
    if (method === 'get' && path.endsWith('/{id}') && component) homes.set(component, path);
  }
  const byResource = new Map<string, { operationId: string }[]>();
  for (const [resource, home] of homes) {
    byResource.set(
      resource,
      operations
        .filter(({ path }) => path === home || path.startsWith(`${home}/`))
        .map(({ operation }) => ({ operationId: String(operation.operationId) })),
    );
  }
  const bodyTakes = (operation: Operation, field: string): boolean => {
    const ref = (operation.requestBody as { content?: Record<string, { schema?: { $ref?: string } }> } | undefined)
      ?.content?.['application/json']?.schema?.$ref;
    const schema = ref ? components[ref.replace('#/components/schemas/', '')] : undefined;
    return Object.hasOwn((schema?.properties as Record<string, unknown> | undefined) ?? {}, field);
  };

  /** Links following the resource held at `pointer` (e.g. `` or `/items/0`) of a response. */
  const linksFor = (resource: string, pointer: string): Record<string, unknown> => {
    const links: Record<string, unknown> = {};
    const properties = (components[resource]?.properties as Record<string, unknown> | undefined) ?? {};
    for (const [target, targets] of byResource) {
      const field = target === resource ? 'id' : `${lowerFirst(target)}Id`;
      if (!Object.hasOwn(properties, field)) continue;
      const value = `$response.body#${pointer}/${field}`;
      const suffix = field === 'id' ? '' : `By${field.charAt(0).toUpperCase()}${field.slice(1)}`;
      for (const { operationId } of targets) {
        links[`${operationId}${suffix}`] = { operationId, parameters: { id: value } };
      }
      // Operations whose body names this resource: `userId` of POST /v1/orders.
      const bodyField = `${lowerFirst(target)}Id`;
      for (const { operation } of operations) {
        if (!bodyTakes(operation, bodyField)) continue;
        const operationId = String(operation.operationId);
        links[`${operationId}${suffix}`] = { operationId, requestBody: { [bodyField]: value } };
      }
    }
    return links;
  };

  for (const { operation } of operations) {
    const success = successOf(operation);
    const component = responseComponent(success?.[1]);
    if (!success || !component) continue;
    let links: Record<string, unknown> = {};
    if (homes.has(component)) {
      links = linksFor(component, '');
    } else {
      // A page: its items' resource, and the next page of the same list.
      const itemRef = (components[component]?.properties as Record<string, JsonSchema> | undefined)?.items?.items as
        { $ref?: string } | undefined;
      const item = itemRef?.$ref?.replace('#/components/schemas/', '');
      if (!item || !homes.has(item)) continue;
      links = linksFor(item, '/items/0');
      const hasCursor = ((operation.parameters as { name?: string }[] | undefined) ?? []).some(
        (parameter) => parameter.name === 'cursor',
      );
      if (hasCursor) {
        const operationId = String(operation.operationId);
        const samePath = ((operation.parameters as { name?: string; in?: string }[] | undefined) ?? [])
          .filter((parameter) => parameter.in === 'path')
          .map((parameter) => [parameter.name, `$request.path.${parameter.name}`]);
        links[`${operationId}NextPage`] = {
          operationId,
          parameters: { ...Object.fromEntries(samePath), cursor: '$response.body#/nextCursor' },
        };
      }
    }
    if (Object.keys(links).length > 0) (success[1] as Record<string, unknown>).links = links;
  }
}

/** The parameters of a path or query schema, one per field, each with its field's description. */
function parametersOf(schema: z.ZodType | undefined, location: 'path' | 'query'): unknown[] {
  if (!(schema instanceof z.ZodObject)) return [];
  return Object.entries(schema.shape as Record<string, z.ZodType>).map(([name, field]) => {
    const { description, ...fieldSchema } = inlineSchema(field, 'input');
    return {
      name,
      in: location,
      required: location === 'path' || !field.safeParse(undefined).success,
      description: description ?? field.meta()?.description,
      schema: fieldSchema,
    };
  });
}

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
const cacheHeader = {
  'X-Cache': {
    description: 'Whether the read cache answered (hit), missed, or was bypassed (Redis unavailable).',
    schema: { type: 'string', enum: ['hit', 'miss', 'bypass'] },
  },
};

const SECURITY_SCHEME = 'bearerAuth';
const bearerScheme = {
  type: 'http',
  scheme: 'bearer',
  bearerFormat: 'JWT',
  description:
    "An access token (JWT) from the deployment's OpenID Connect issuer. Each operation lists the scopes it needs; " +
    '`admin` stands in for all of them.',
};

/** The operation as it is served with authentication on: its scopes, and the 401 and 403 it can answer. */
function withSecurity(operation: Operation, route: ApiRoute): Operation {
  const challenge = {
    'WWW-Authenticate': { description: 'The Bearer challenge (RFC 6750).', schema: { type: 'string' } },
  };
  return {
    ...operation,
    security: [{ [SECURITY_SCHEME]: [...route.scopes] }],
    responses: sortResponses({
      ...(operation.responses as Record<string, unknown>),
      '401': problemResponse('No access token, or one that is invalid or expired.', challenge),
      '403': problemResponse(
        `The access token lacks a scope this operation needs: ${route.scopes.join(', ')}.`,
        challenge,
      ),
    }),
  };
}

/** One route of the table as an OpenAPI operation. */
function operationOf(route: ApiRoute): Operation {
  const parameters = [
    ...parametersOf(route.params, 'path'),
    ...parametersOf(route.query, 'query'),
    ...(route.idempotent ? [idempotencyKeyParameter] : []),
  ];
  const successHeaders = {
    ...(route.success.location ? locationHeader : {}),
    ...(route.idempotent ? replayedHeader : {}),
    ...(route.cached ? cacheHeader : {}),
  };
  return {
    operationId: route.operationId,
    tags: [route.tag],
    summary: route.summary,
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(route.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: REF(componentName(route.body)) } } } }
      : {}),
    responses: sortResponses({
      [String(route.success.status)]: jsonResponse(
        route.success.description,
        componentName(route.rpc.reply),
        successHeaders,
      ),
      ...errorResponses({ body: route.body !== undefined }),
    }),
  };
}

/**
 * The OpenAPI 3.1 document of the public API, generated from the route table and the shared zod contracts
 * (z.toJSONSchema), never written by hand: what the gateway validates is what the document says.
 */
export function buildOpenApiDocument(
  routes: readonly ApiRoute[] = API_ROUTES,
  options: { authentication?: boolean } = {},
): Record<string, unknown> {
  const authentication = options.authentication ?? false;
  const paths: PathItems = {};
  for (const route of routes) {
    const operation = operationOf(route);
    (paths[openApiPath(route)] ??= {})[route.method] = authentication ? withSecurity(operation, route) : operation;
  }
  const components = componentSchemas({
    input: routes.flatMap((route) => (route.body ? [route.body] : [])),
    output: [...routes.map((route) => route.rpc.reply), problemSchema],
  });
  addLinks(paths, components);

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
    components: {
      schemas: components,
      ...(authentication ? { securitySchemes: { [SECURITY_SCHEME]: bearerScheme } } : {}),
    },
  };
}
