/**
 * The floor: the least code that does what the full path does, on the same
 * machine, broker and database. An HTTP server (node:http) that turns
 * POST /v1/users and GET /v1/users/:id into a request over RabbitMQ with bare
 * amqplib (direct reply-to, TCP_NODELAY, no publisher confirms), and a worker
 * process that runs the users worker's INSERT or SELECT with `pg` on the same
 * users table and replies. Two processes, as gateway and worker are; route
 * queues declared as RpcServer declares them (quorum, dead-letter exchange),
 * with the worker's prefetch and pool size. No validation, tracing, logging,
 * metrics, rate limit, cache, deadlines or confirms: what the full path costs
 * on top of this is the price of those.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { Pool } from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { rpcServerQueueArguments } from '../rpc-bench/echo';
import type { RoleHandlers } from './roles';

const DIRECT_REPLY_TO = 'amq.rabbitmq.reply-to';
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

// The users repository's statements, word for word.
const COLUMNS = 'id, name, email, created_at, updated_at';
const INSERT_USER = `INSERT INTO users (id, name, email) VALUES ($1, $2, $3) RETURNING ${COLUMNS}`;
const SELECT_USER = `SELECT ${COLUMNS} FROM users WHERE id = $1`;

interface UserRow {
  id: string;
  name: string;
  email: string;
  created_at: Date;
  updated_at: Date;
}

function userJson(row: UserRow): string {
  return JSON.stringify({
    id: row.id,
    name: row.name,
    email: row.email,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  });
}

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
      connection = await connect(settings.amqpUrl, { noDelay: true });
      const handlers: Record<keyof FloorQueues, (request: Record<string, string>) => Promise<string | null>> = {
        create: async ({ name, email }) =>
          userJson((await database.query<UserRow>(INSERT_USER, [uuidv7(), name, email])).rows[0]!),
        get: async ({ id }) => {
          const row = (await database.query<UserRow>(SELECT_USER, [id])).rows[0];
          return row ? userJson(row) : null;
        },
      };
      for (const route of ['create', 'get'] as const) {
        const channel = await connection.createChannel();
        await channel.assertQueue(settings.queues[route], { durable: true, arguments: rpcServerQueueArguments() });
        await channel.prefetch(settings.prefetch);
        await channel.consume(settings.queues[route], (message) => {
          if (message) void handle(channel, message, handlers[route]);
        });
      }
      return {};
    },
    async stop() {
      await connection?.close().catch(() => undefined);
      await pool?.end().catch(() => undefined);
    },
  };
}

async function handle(
  channel: Channel,
  message: ConsumeMessage,
  handler: (request: Record<string, string>) => Promise<string | null>,
): Promise<void> {
  const { correlationId, replyTo } = message.properties as { correlationId: string; replyTo: string };
  let content: string;
  let type: string | undefined;
  try {
    const reply = await handler(JSON.parse(message.content.toString('utf8')) as Record<string, string>);
    if (reply === null) {
      content = '{"error":"not found"}';
      type = NOT_FOUND_REPLY;
    } else {
      content = reply;
    }
  } catch (error) {
    content = JSON.stringify({ error: (error as Error).message });
    type = ERROR_REPLY;
  }
  channel.publish('', replyTo, Buffer.from(content), { correlationId, type });
  channel.ack(message);
}

interface PendingReply {
  resolve(message: ConsumeMessage): void;
  reject(error: Error): void;
}

/** The floor HTTP server: node:http in front of a bare amqplib client. */
export function floorHttpRole(): RoleHandlers {
  let connection: ChannelModel | undefined;
  let server: Server | undefined;
  return {
    async start(raw) {
      const settings = raw as FloorHttpSettings;
      connection = await connect(settings.amqpUrl, { noDelay: true });
      const channel = await connection.createChannel();
      const pending = new Map<string, PendingReply>();
      const failAll = (error: Error): void => {
        for (const call of pending.values()) call.reject(error);
        pending.clear();
      };
      connection.on('error', failAll);
      channel.on('close', () => failAll(new Error('floor channel closed')));
      await channel.consume(
        DIRECT_REPLY_TO,
        (message) => {
          const correlationId: unknown = message?.properties.correlationId;
          if (!message || typeof correlationId !== 'string') return;
          pending.get(correlationId)?.resolve(message);
          pending.delete(correlationId);
        },
        { noAck: true },
      );
      let nextId = 0;
      const call = (queue: string, body: Buffer): Promise<ConsumeMessage> => {
        const correlationId = (nextId++).toString(36);
        return new Promise((resolve, reject) => {
          pending.set(correlationId, { resolve, reject });
          channel.publish('', queue, body, { correlationId, replyTo: DIRECT_REPLY_TO });
        });
      };
      server = createServer((req, res) => void serve(req, res, settings.queues, call));
      const listening = server;
      await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
      const address = listening.address();
      return { port: typeof address === 'object' && address ? address.port : 0 };
    },
    async stop() {
      server?.closeAllConnections();
      await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
      await connection?.close().catch(() => undefined);
    },
  };
}

const USER_PATH = /^\/v1\/users\/([0-9a-f-]{36})$/;

async function serve(
  req: IncomingMessage,
  res: ServerResponse,
  queues: FloorQueues,
  call: (queue: string, body: Buffer) => Promise<ConsumeMessage>,
): Promise<void> {
  try {
    let reply: ConsumeMessage;
    let status: number;
    if (req.method === 'POST' && req.url === '/v1/users') {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      JSON.parse(body.toString('utf8')); // malformed JSON is refused, as anywhere
      reply = await call(queues.create, body);
      status = 201;
    } else {
      const id = req.method === 'GET' ? USER_PATH.exec(req.url ?? '')?.[1] : undefined;
      if (!id) {
        send(res, 404, Buffer.from('{"error":"no such route"}'));
        return;
      }
      reply = await call(queues.get, Buffer.from(JSON.stringify({ id })));
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
