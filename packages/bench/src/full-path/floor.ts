/**
 * The full path's floor: the least code that does what the full path does, on
 * the same machine, broker and database. An HTTP server (node:http) that turns
 * POST /v1/users and GET /v1/users/:id into a request over RabbitMQ with the
 * bare amqplib client of ../core/bare-amqp.ts, and a worker process that runs
 * the users worker's own INSERT or SELECT (@warren/users/statements) with `pg`
 * on the same users table and replies. Two processes, as gateway and worker
 * are; route queues declared as RpcServer declares them, with the worker's
 * prefetch and pool size. No validation, tracing, logging, metrics, rate
 * limit, cache, deadlines or confirms: what the full path costs on top of this
 * is the price of those.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ChannelModel, ConsumeMessage } from 'amqplib';
import { Pool } from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { INSERT_USER, SELECT_USER, type UserRow } from '@warren/users/statements';
import { DirectReplyClient, connectBare, serveQueue, type BareReply } from '../core/bare-amqp';
import type { RoleHandlers } from '../core/roles';

/** AMQP `type` of a reply that carries an error instead of a user. */
const ERROR_REPLY = 'error';
const NOT_FOUND_REPLY = 'not-found';

export interface FloorQueues {
  create: string;
  get: string;
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
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  });
}

type Statement = (request: Record<string, string>) => Promise<string | null>;

/** The floor worker: consumes both queues, runs the statement, replies, acks. */
export function floorWorkerRole(): RoleHandlers {
  let connection: ChannelModel | undefined;
  let pool: Pool | undefined;
  return {
    async start(raw) {
      const settings = raw as FloorWorkerSettings;
      pool = new Pool({ connectionString: settings.databaseUrl, max: settings.poolSize, idleTimeoutMillis: 30_000 });
      pool.on('error', () => undefined);
      const database = pool;
      const statements: Record<keyof FloorQueues, Statement> = {
        create: async ({ name, email }) =>
          userJson((await database.query<UserRow>(INSERT_USER, [uuidv7(), name, email])).rows[0]!),
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

/** Runs the statement for one request; a missing user and a failure are replies of their own type. */
async function answer(content: Buffer, statement: Statement): Promise<BareReply> {
  try {
    const reply = await statement(JSON.parse(content.toString('utf8')) as Record<string, string>);
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

async function serve(
  req: IncomingMessage,
  res: ServerResponse,
  queues: FloorQueues,
  rpc: DirectReplyClient<ConsumeMessage>,
): Promise<void> {
  try {
    let reply: ConsumeMessage;
    let status: number;
    if (req.method === 'POST' && req.url === '/v1/users') {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      JSON.parse(body.toString('utf8')); // malformed JSON is refused, as anywhere
      reply = await rpc.call(queues.create, body);
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
