/**
 * The full path's floor: the least code that does what the full path does, on
 * the same machine, broker and database. An HTTP server (node:http) that turns
 * POST /v1/users, GET /v1/users/:id and POST /v1/orders into a request over
 * RabbitMQ with the bare amqplib client of ../core/bare-amqp.ts; a users
 * worker process that runs the users worker's own INSERT or SELECT
 * (@warren/users/statements) with `pg` on the same users table and replies;
 * and an orders worker process that asks the floor users worker over bare
 * amqplib whether the order's user exists (its SELECT, as orders.create asks
 * users.get), then runs the orders repository's INSERT
 * (@warren/orders/statements) on the same orders table and replies. One
 * process per service, as gateway and workers are; route queues declared as
 * RpcServer declares them, with the workers' prefetch and pool size. No
 * validation, tracing, logging, metrics, rate limit, cache, deadlines or
 * confirms: what the full path costs on top of this is the price of those.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ChannelModel, ConsumeMessage } from 'amqplib';
import { Pool } from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { INSERT_ORDER, type OrderRow } from '@warren/orders/statements';
import { INSERT_USER, SELECT_USER, type UserRow } from '@warren/users/statements';
import { DirectReplyClient, connectBare, serveQueue, type BareReply } from '../core/bare-amqp';
import type { RoleHandlers } from '../core/roles';

/** AMQP `type` of a reply that carries an error instead of a user. */
const ERROR_REPLY = 'error';
const NOT_FOUND_REPLY = 'not-found';

export interface FloorQueues {
  /** users.create and users.get, served by the floor users worker. */
  create: string;
  get: string;
  /** orders.create, served by the floor orders worker. */
  order: string;
}

export interface FloorWorkerSettings {
  amqpUrl: string;
  databaseUrl: string;
  queues: FloorQueues;
  /** Messages handled at once per queue: the users worker's RPC_CONCURRENCY. */
  prefetch: number;
  /** The users worker's PG_POOL_SIZE. */
  poolSize: number;
}

export interface FloorOrdersWorkerSettings {
  amqpUrl: string;
  /** warren_orders. */
  databaseUrl: string;
  queues: FloorQueues;
  /** The orders worker's RPC_CONCURRENCY. */
  prefetch: number;
  /** The orders worker's PG_POOL_SIZE. */
  poolSize: number;
}

export interface FloorHttpSettings {
  amqpUrl: string;
  queues: FloorQueues;
}

/** The user as the users worker replies with it. */
function userJson(row: UserRow): string {
  return JSON.stringify({
    id: row.id,
    name: row.name,
    email: row.email,
    subject: row.subject,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  });
}

/** The order as the orders worker replies with it. */
function orderJson(row: OrderRow): string {
  return JSON.stringify({
    id: row.id,
    userId: row.user_id,
    items: row.items,
    totalCents: Number(row.total_cents),
    currency: row.currency,
    status: row.status,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  });
}

type Statement<Request = Record<string, string>> = (request: Request) => Promise<string | null>;

interface OrderRequest {
  userId: string;
  items: { sku: string; quantity: number; unitPriceCents: number }[];
  currency: string;
}

/** The floor users worker: consumes both users queues, runs the statement, replies, acks. */
export function floorWorkerRole(): RoleHandlers {
  let connection: ChannelModel | undefined;
  let pool: Pool | undefined;
  return {
    async start(raw) {
      const settings = raw as FloorWorkerSettings;
      pool = new Pool({ connectionString: settings.databaseUrl, max: settings.poolSize, idleTimeoutMillis: 30_000 });
      pool.on('error', () => undefined);
      const database = pool;
      const statements: Record<'create' | 'get', Statement> = {
        create: async ({ name, email }) =>
          userJson((await database.query<UserRow>(INSERT_USER, [uuidv7(), name, email, null])).rows[0]!),
        get: async ({ id }) => {
          const row = (await database.query<UserRow>(SELECT_USER, [id])).rows[0];
          return row ? userJson(row) : null;
        },
      };
      connection = await connectBare(settings.amqpUrl);
      for (const route of ['create', 'get'] as const) {
        await serveQueue(connection, settings.queues[route], settings.prefetch, (content) =>
          answer(content, statements[route]),
        );
      }
      return {};
    },
    async stop() {
      await connection?.close().catch(() => undefined);
      await pool?.end().catch(() => undefined);
    },
  };
}

/**
 * The floor orders worker: consumes the orders queue; for each order asks the floor users worker whether the
 * user exists (a request on its `get` queue over direct reply-to), then inserts the order, replies, acks.
 */
export function floorOrdersWorkerRole(): RoleHandlers {
  let connection: ChannelModel | undefined;
  let users: DirectReplyClient<unknown> | undefined;
  let pool: Pool | undefined;
  return {
    async start(raw) {
      const settings = raw as FloorOrdersWorkerSettings;
      pool = new Pool({ connectionString: settings.databaseUrl, max: settings.poolSize, idleTimeoutMillis: 30_000 });
      pool.on('error', () => undefined);
      const database = pool;
      // Only the reply's type matters: a user, not found, or an error.
      const usersClient = await DirectReplyClient.open(settings.amqpUrl, (reply): unknown => reply.properties.type);
      users = usersClient;
      const create: Statement<OrderRequest> = async ({ userId, items, currency }) => {
        const userReply = await usersClient.call(settings.queues.get, Buffer.from(JSON.stringify({ id: userId })));
        if (userReply === NOT_FOUND_REPLY) return null;
        if (userReply === ERROR_REPLY) throw new Error(`users.get failed for ${userId}`);
        const totalCents = items.reduce((sum, item) => sum + item.quantity * item.unitPriceCents, 0);
        const values = [uuidv7(), userId, JSON.stringify(items), totalCents, currency, null];
        return orderJson((await database.query<OrderRow>(INSERT_ORDER, values)).rows[0]!);
      };
      connection = await connectBare(settings.amqpUrl);
      await serveQueue(connection, settings.queues.order, settings.prefetch, (content) => answer(content, create));
      return {};
    },
    async stop() {
      await connection?.close().catch(() => undefined);
      await users?.close().catch(() => undefined);
      await pool?.end().catch(() => undefined);
    },
  };
}

/** Runs the statement for one request; a missing user and a failure are replies of their own type. */
async function answer<Request>(content: Buffer, statement: Statement<Request>): Promise<BareReply> {
  try {
    const reply = await statement(JSON.parse(content.toString('utf8')) as Request);
    return reply === null ? { content: '{"error":"not found"}', type: NOT_FOUND_REPLY } : { content: reply };
  } catch (error) {
    return { content: JSON.stringify({ error: (error as Error).message }), type: ERROR_REPLY };
  }
}

/** The floor HTTP server: node:http in front of a bare amqplib client. */
export function floorHttpRole(): RoleHandlers {
  let client: DirectReplyClient<ConsumeMessage> | undefined;
  let server: Server | undefined;
  return {
    async start(raw) {
      const settings = raw as FloorHttpSettings;
      const rpc = await DirectReplyClient.open(settings.amqpUrl, (reply) => reply);
      client = rpc;
      server = createServer((req, res) => void serve(req, res, settings.queues, rpc));
      const listening = server;
      await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
      const address = listening.address();
      return { port: typeof address === 'object' && address ? address.port : 0 };
    },
    async stop() {
      server?.closeAllConnections();
      await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
      await client?.close().catch(() => undefined);
    },
  };
}

const USER_PATH = /^\/v1\/users\/([0-9a-f-]{36})$/;
/** The POST paths and the queue each is sent to; both answer 201 with what was created. */
const POST_ROUTES: Record<string, keyof FloorQueues> = { '/v1/users': 'create', '/v1/orders': 'order' };

async function serve(
  req: IncomingMessage,
  res: ServerResponse,
  queues: FloorQueues,
  rpc: DirectReplyClient<ConsumeMessage>,
): Promise<void> {
  try {
    let reply: ConsumeMessage;
    let status: number;
    const postRoute = req.method === 'POST' ? POST_ROUTES[req.url ?? ''] : undefined;
    if (postRoute !== undefined) {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      JSON.parse(body.toString('utf8')); // malformed JSON is refused, as anywhere
      reply = await rpc.call(queues[postRoute], body);
      status = 201;
    } else {
      const id = req.method === 'GET' ? USER_PATH.exec(req.url ?? '')?.[1] : undefined;
      if (!id) {
        send(res, 404, Buffer.from('{"error":"no such route"}'));
        return;
      }
      reply = await rpc.call(queues.get, Buffer.from(JSON.stringify({ id })));
      status = 200;
    }
    const type: unknown = reply.properties.type;
    send(res, type === NOT_FOUND_REPLY ? 404 : type === ERROR_REPLY ? 500 : status, reply.content);
  } catch (error) {
    send(res, 500, Buffer.from(JSON.stringify({ error: (error as Error).message })));
  }
}

function send(res: ServerResponse, status: number, body: Buffer): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': body.length });
  res.end(body);
}
