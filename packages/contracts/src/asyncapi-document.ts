import {
  CALLER_SCOPES_HEADER,
  CALLER_SUBJECT_HEADER,
  DEADLINE_HEADER,
  deadLetterQueueOf,
  DEFAULT_DEAD_LETTER_EXCHANGE,
  DEFAULT_DELIVERY_LIMIT,
  DIRECT_REPLY_QUEUE,
  IDEMPOTENCY_KEY_HEADER,
  MAX_CALLER_SUBJECT_LENGTH,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  queueNameOf,
  RETRIABLE_CODES,
  routeQueueDeclaration,
  routeQueuePolicy,
  ROUTE_QUEUE_POLICY_NAME,
  RPC_ERROR_CODES,
  type RouteDefinition,
} from '@warren/rpc';
import { z } from 'zod';
import { jsonSchemaOverride } from './json-schema';
import * as orders from './orders';
import * as users from './users';

type JsonSchema = Record<string, unknown>;
type AnyRoute = RouteDefinition<z.ZodType, z.ZodType>;

/** Which service answers which routes: the owner of the data (one worker per route prefix). */
export const RESPONDERS = { users, orders } as const;

const SCHEMA_REF = '#/components/schemas/';
const AMQP_BINDING_VERSION = '0.3.0';

/** The routes each module exports, under their export names (usersCreate → users.create), in a stable order. */
function routesOf(module: Record<string, unknown>): [string, AnyRoute][] {
  return Object.entries(module)
    .filter(([, value]) => {
      const route = value as Partial<AnyRoute> | undefined;
      return typeof route?.name === 'string' && route.request instanceof z.ZodType && route.reply instanceof z.ZodType;
    })
    .map(([key, route]) => [key, route as AnyRoute] as [string, AnyRoute])
    .sort(([a], [b]) => a.localeCompare(b));
}

/**
 * One schema as JSON Schema draft 7 (AsyncAPI's default schema format is a superset of it), its named parts moved
 * into `components` (which must agree between requests and replies) and referred to there.
 */
function schemaOf(schema: z.ZodType, io: 'input' | 'output', components: Record<string, JsonSchema>): JsonSchema {
  const generated = z.toJSONSchema(schema, {
    target: 'draft-7',
    io,
    unrepresentable: 'throw',
    override: jsonSchemaOverride,
  }) as JsonSchema & { definitions?: Record<string, JsonSchema> };
  const relink = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(relink);
    if (!value || typeof value !== 'object') return value;
    return Object.fromEntries(
      Object.entries(value).map(([key, entry]) => [
        key,
        key === '$ref' && typeof entry === 'string' ? entry.replace('#/definitions/', SCHEMA_REF) : relink(entry),
      ]),
    );
  };
  const { $schema: _schema, definitions = {}, ...root } = generated;
  for (const [name, definition] of Object.entries(definitions)) {
    const { id: _id, ...linked } = relink(definition) as JsonSchema;
    if (name in components && JSON.stringify(components[name]) !== JSON.stringify(linked)) {
      throw new Error(`schema ${name} differs between requests and replies`);
    }
    components[name] = linked;
  }
  const { id: _id, ...linkedRoot } = relink(root) as JsonSchema;
  return linkedRoot;
}

const W3C_TRACE_CONTEXT = 'https://www.w3.org/TR/trace-context/';

/** The application headers of a request message: everything that travels beside the body. */
function requestHeadersSchema(): JsonSchema {
  return {
    type: 'object',
    properties: {
      [DEADLINE_HEADER]: {
        type: 'integer',
        description:
          'When the caller stops waiting, in epoch milliseconds. A responder drops a request it receives after it, ' +
          'and nested calls inherit it. Absent: the responder applies no deadline of its own.',
      },
      [IDEMPOTENCY_KEY_HEADER]: {
        type: 'string',
        minLength: 1,
        maxLength: MAX_IDEMPOTENCY_KEY_LENGTH,
        description:
          'Makes a command safe to repeat: a repeat with the same key (from the same caller subject) gets the ' +
          "first attempt's outcome without doing the work again. A present but invalid key is refused " +
          '(invalid_argument), never ignored.',
      },
      [CALLER_SUBJECT_HEADER]: {
        type: 'string',
        minLength: 1,
        maxLength: MAX_CALLER_SUBJECT_LENGTH,
        description:
          "Who the call is made for: the verified access token's `sub`. Absent together with the scopes: a call " +
          'for no one in particular (authentication is off), which acts for anyone. Only trusted publishers may set it.',
      },
      [CALLER_SCOPES_HEADER]: {
        type: 'string',
        description: "That caller's scopes, space-separated; `admin` acts for any subject.",
      },
      traceparent: {
        type: 'string',
        pattern: '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$',
        description: `W3C Trace Context (${W3C_TRACE_CONTEXT}): the responder's span continues this trace.`,
      },
      tracestate: { type: 'string', description: 'W3C Trace Context, vendor-specific part.' },
      baggage: { type: 'string', description: 'W3C Baggage, e.g. the HTTP request id (`request.id`).' },
    },
  };
}

/** What every reply's body is: the result, or a typed error. */
function replyEnvelopeSchema(result: JsonSchema): JsonSchema {
  return {
    oneOf: [
      {
        type: 'object',
        properties: { ok: { const: true }, result },
        required: ['ok', 'result'],
      },
      {
        type: 'object',
        properties: { ok: { const: false }, error: { $ref: `${SCHEMA_REF}RpcError` } },
        required: ['ok', 'error'],
      },
    ],
  };
}

function rpcErrorSchema(): JsonSchema {
  return {
    type: 'object',
    description:
      'A failure, typed by `code`. `retriable` is true for the codes a retry with the same idempotency key may get ' +
      `past (${RETRIABLE_CODES.join(', ')}): the infrastructure's failures, not the input's. An unexpected failure ` +
      'is a bare `internal`: no stack or internal detail crosses the wire.',
    properties: {
      code: { type: 'string', enum: [...RPC_ERROR_CODES] },
      message: { type: 'string' },
      details: { description: 'Per code, e.g. the failed fields of an invalid_argument.' },
      retriable: { type: 'boolean' },
    },
    required: ['code', 'message', 'retriable'],
  };
}

/**
 * The RPC protocol as an AsyncAPI 3.0 document, from the routes of @warren/contracts and the constants of
 * @warren/rpc, so it cannot drift from what the code sends: one channel per route queue, each route an operation
 * its worker receives with a reply on direct reply-to, the headers, the envelopes and the error codes. It describes
 * the responders (the workers); a caller sends what they receive.
 */
export function asyncApiDocument(version: string): Record<string, unknown> {
  const schemas: Record<string, JsonSchema> = { RpcError: rpcErrorSchema() };
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  const replyMessages: Record<string, unknown> = {};
  const { queueArguments, deadLetterExchange } = routeQueueDeclaration();
  const policy = routeQueuePolicy();

  for (const [service, module] of Object.entries(RESPONDERS)) {
    for (const [key, route] of routesOf(module)) {
      const queue = queueNameOf(route.name);
      const requestName = `${key}Request`;
      const replyName = `${key}Reply`;
      messages[requestName] = {
        name: requestName,
        title: `${route.name} request`,
        contentType: 'application/json',
        headers: requestHeadersSchema(),
        correlationId: {
          description: "AMQP `correlation_id`: the reply carries the request's, so the caller matches them.",
          location: '$message.header#/correlation_id',
        },
        payload: schemaOf(route.request, 'input', schemas),
      };
      messages[replyName] = {
        name: replyName,
        title: `${route.name} reply`,
        contentType: 'application/json',
        correlationId: { location: '$message.header#/correlation_id' },
        payload: replyEnvelopeSchema(schemaOf(route.reply, 'output', schemas)),
      };
      replyMessages[replyName] = { $ref: `#/components/messages/${replyName}` };
      channels[key] = {
        address: queue,
        title: `${route.name} queue`,
        description:
          `The requests of ${route.name}, which the ${service} worker consumes (manual acks, a prefetch per worker). ` +
          `Declared durable with arguments ${JSON.stringify(queueArguments)}, and nothing else: the broker policy ` +
          `\`${policy.name}\` (pattern \`${policy.pattern}\`) sets ${JSON.stringify(policy.definition)}, so ` +
          `rejected messages go through \`${deadLetterExchange}\` (routing key \`${queue}\`) to ` +
          `\`${deadLetterQueueOf(queue)}\`. Published on ` +
          'the default exchange with the queue name as routing key.',
        messages: { [requestName]: { $ref: `#/components/messages/${requestName}` } },
        bindings: {
          amqp: {
            is: 'queue',
            queue: { name: queue, durable: true, exclusive: false, autoDelete: false },
            bindingVersion: AMQP_BINDING_VERSION,
          },
        },
      };
      operations[key] = {
        action: 'receive',
        title: route.name,
        summary: `The ${service} worker answers ${route.name}.`,
        channel: { $ref: `#/channels/${key}` },
        messages: [{ $ref: `#/channels/${key}/messages/${requestName}` }],
        bindings: {
          amqp: {
            // Persistent, mandatory (an unroutable request is refused at once), expiring with the caller's timeout.
            deliveryMode: 2,
            mandatory: true,
            ack: true,
            bindingVersion: AMQP_BINDING_VERSION,
          },
        },
        reply: {
          address: {
            description: `AMQP \`reply_to\` of the request: \`${DIRECT_REPLY_QUEUE}\` for Warren's callers.`,
            location: '$message.header#/reply_to',
          },
          channel: { $ref: '#/channels/replies' },
          messages: [{ $ref: `#/channels/replies/messages/${replyName}` }],
        },
      };
    }
  }

  channels.replies = {
    address: DIRECT_REPLY_QUEUE,
    title: 'direct reply-to',
    description:
      "RabbitMQ's direct reply-to pseudo-queue: a caller consumes it (no-ack) before publishing with it as " +
      '`reply_to`; the responder publishes the reply on the default exchange with that `reply_to` as routing key. ' +
      'Replies are transient; one whose caller has gone is dropped by the broker.',
    messages: replyMessages,
  };

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Warren RPC',
      version,
      description:
        "Request/reply over RabbitMQ between Warren's gateway and its workers (users, orders), and anyone who speaks " +
        'it: a request is a JSON body on a route queue with `correlation_id`, `reply_to` and `expiration` (the ' +
        "caller's timeout in ms, so the broker drops it once nobody waits) set; the reply is an envelope, " +
        `\`{"ok": true, "result": ...}\` or \`{"ok": false, "error": {"code", "message", "details", "retriable"}}\`. ` +
        `Quorum queues dead-letter a message after ${DEFAULT_DELIVERY_LIMIT} deliveries (the broker policy ` +
        `\`${ROUTE_QUEUE_POLICY_NAME}\`, which whoever runs the broker sets; the queues carry only their type).`,
    },
    defaultContentType: 'application/json',
    servers: {
      rabbitmq: {
        host: 'localhost:5672',
        protocol: 'amqp',
        protocolVersion: '0.9.1',
        description: `Any RabbitMQ vhost; the chart's in-cluster broker, or AMQP_URL. The dead-letter exchange is \`${DEFAULT_DEAD_LETTER_EXCHANGE}\`.`,
      },
    },
    channels,
    operations,
    components: {
      messages,
      schemas: Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b))),
    },
  };
}
