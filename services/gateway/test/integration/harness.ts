import { randomBytes, randomUUID } from 'node:crypto';
import {
  ordersCancel,
  ordersCreate,
  ordersGet,
  ordersListByUser,
  usersCreate,
  usersGet,
  usersList,
  usersUpdate,
  type Order,
  type OrderItem,
  type User,
} from '@warren/contracts';
import {
  confinedSubjectOf,
  RpcClient,
  RpcError,
  RpcServer,
  type HandlerContext,
  type RpcClientOptions,
} from '@warren/rpc';
import { createLogger } from '@warren/service-kit';
import { connect } from 'amqplib';
import type { Express } from 'express';
import { Registry } from 'prom-client';
import request from 'supertest';
import { createApp, type AppConfig } from '../../src/app';
import { closeRedis, createRedis, type Redis } from '../../src/redis';
import { startLocalIssuer, type LocalIssuer } from '@warren/launcher';
import { createTokenVerifier, type TokenVerifier } from '../../src/auth/token-verifier';
import type { LoadShedder } from '../../src/overload/load-shedder';

// Local defaults match scripts/services.sh; CI may point elsewhere.
export const AMQP_URL = process.env.AMQP_URL ?? 'amqp://warren:warren@127.0.0.1:5672';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** A port nothing listens on: Redis "down". */
export const DEAD_REDIS_URL = 'redis://127.0.0.1:1';

export const logger = createLogger({ service: 'gateway-test', level: 'silent', pretty: false });
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A name no other test (and no real worker) uses, valid as a route segment. */
export function uniqueName(prefix: string): string {
  return `${prefix}${randomBytes(5).toString('hex')}`;
}

/** The RPC routes the gateway calls, by name, for the fakes to serve and the tests to look calls up by. */
export const routes = {
  usersCreate,
  usersGet,
  usersList,
  usersUpdate,
  ordersCreate,
  ordersGet,
  ordersListByUser,
  ordersCancel,
};
export type RouteKey = keyof typeof routes;

/**
 * A queue-name prefix of a test's own (RpcClient's and RpcServer's `queuePrefix`), so fake peers on the shared
 * broker never take messages meant for the real workers, or another test's.
 */
export function uniqueQueuePrefix(): string {
  return `${uniqueName('gwtest')}.`;
}

/** The queues a prefix's routes live in. */
export function queueNamesOf(queuePrefix: string): string[] {
  return Object.values(routes).map((route) => `${queuePrefix}${route.name}`);
}

/** Names a test can give a user to make the fake users service misbehave. */
export const SLOW_NAME = 'Slow Sloth';
export const SLOW_MS = 1500;

const encodeCursor = (id: string) => Buffer.from(id).toString('base64url');
function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[0-9a-f-]{36}$/.test(id)) {
    throw new RpcError('invalid_argument', 'cursor is not one this service issued', {
      details: [{ path: 'cursor', message: 'invalid cursor' }],
    });
  }
  return id;
}
function page<Item extends { id: string }>(all: Item[], limit: number, cursor: string | undefined) {
  const after = cursor === undefined ? undefined : decodeCursor(cursor);
  const sorted = [...all].sort((a, b) => a.id.localeCompare(b.id)).filter((item) => !after || item.id > after);
  const items = sorted.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: sorted.length > limit && last ? encodeCursor(last.id) : null };
}

/**
 * In-memory users and orders served over the real broker by real RpcServers:
 * fake peers standing in for the workers, counting what they are asked.
 */
export class FakeBackend {
  readonly users = new Map<string, User>();
  readonly orders = new Map<string, Order>();
  readonly calls: { route: string; request: unknown; headers: Readonly<Record<string, unknown>> }[] = [];
  private readonly byIdempotencyKey = new Map<string, string>();
  private readonly servers: RpcServer[] = [];

  constructor(readonly queuePrefix: string) {}

  callsTo(route: { name: string }) {
    return this.calls.filter((call) => call.route === route.name);
  }

  /** Serves `only` the named routes (all by default) from one RpcServer. */
  async start(only: RouteKey[] = Object.keys(routes) as RouteKey[]): Promise<RpcServer> {
    const server = new RpcServer({
      url: AMQP_URL,
      connectionName: uniqueName('gwtest-server'),
      drainTimeoutMs: 3000,
      queuePrefix: this.queuePrefix,
    });
    const r = routes;
    const record = (route: string, request: unknown, context: HandlerContext) =>
      this.calls.push({ route, request, headers: context.headers });
    const now = () => new Date().toISOString();
    const handlers: { [Key in RouteKey]: () => void } = {
      usersCreate: () =>
        server.handle(r.usersCreate, async (request, context) => {
          record(r.usersCreate.name, request, context);
          // Keyed per caller, as the users worker replays a key only to the subject that used it.
          const header = context.headers['x-idempotency-key'];
          const key = typeof header === 'string' ? `${confinedSubjectOf(context.caller) ?? ''}\n${header}` : undefined;
          if (key !== undefined && this.byIdempotencyKey.has(key)) {
            return this.users.get(this.byIdempotencyKey.get(key)!)!;
          }
          if (request.name === SLOW_NAME) await sleep(SLOW_MS);
          if ([...this.users.values()].some((user) => user.email === request.email)) {
            throw new RpcError('conflict', `a user with email ${request.email} exists`);
          }
          // Bound to the caller's subject, as the users worker does.
          const subject = request.subject ?? confinedSubjectOf(context.caller) ?? null;
          const user: User = { id: randomUUID(), ...request, subject, createdAt: now(), updatedAt: now() };
          this.users.set(user.id, user);
          if (typeof key === 'string') this.byIdempotencyKey.set(key, user.id);
          return user;
        }),
      usersGet: () =>
        server.handle(r.usersGet, async (request, context) => {
          record(r.usersGet.name, request, context);
          const user = this.users.get(request.id);
          const confinedTo = confinedSubjectOf(context.caller);
          if (!user || (confinedTo !== undefined && user.subject !== confinedTo)) {
            throw new RpcError('not_found', `user ${request.id} not found`);
          }
          if (user.name === SLOW_NAME) await sleep(SLOW_MS);
          return user;
        }),
      usersList: () =>
        server.handle(r.usersList, (request, context) => {
          record(r.usersList.name, request, context);
          return page([...this.users.values()], request.limit, request.cursor);
        }),
      usersUpdate: () =>
        server.handle(r.usersUpdate, (request, context) => {
          record(r.usersUpdate.name, request, context);
          const user = this.users.get(request.id);
          if (!user) throw new RpcError('not_found', `user ${request.id} not found`);
          const { id: _id, ...changes } = request;
          const updated: User = { ...user, ...changes, updatedAt: now() };
          this.users.set(user.id, updated);
          return updated;
        }),
      ordersCreate: () =>
        server.handle(r.ordersCreate, (request, context) => {
          record(r.ordersCreate.name, request, context);
          if (!this.users.has(request.userId)) {
            throw new RpcError('failed_precondition', `user ${request.userId} does not exist`);
          }
          const totalCents = request.items.reduce(
            (sum: number, item: OrderItem) => sum + item.quantity * item.unitPriceCents,
            0,
          );
          const order: Order = {
            id: randomUUID(),
            ...request,
            totalCents,
            status: 'confirmed',
            createdAt: now(),
            updatedAt: now(),
          };
          this.orders.set(order.id, order);
          return order;
        }),
      ordersGet: () =>
        server.handle(r.ordersGet, (request, context) => {
          record(r.ordersGet.name, request, context);
          const order = this.orders.get(request.id);
          if (!order) throw new RpcError('not_found', `order ${request.id} not found`);
          return order;
        }),
      ordersListByUser: () =>
        server.handle(r.ordersListByUser, (request, context) => {
          record(r.ordersListByUser.name, request, context);
          const mine = [...this.orders.values()].filter((order) => order.userId === request.userId);
          return page(mine, request.limit, request.cursor);
        }),
      ordersCancel: () =>
        server.handle(r.ordersCancel, (request, context) => {
          record(r.ordersCancel.name, request, context);
          const order = this.orders.get(request.id);
          if (!order) throw new RpcError('not_found', `order ${request.id} not found`);
          if (order.status === 'cancelled') throw new RpcError('failed_precondition', 'order is already cancelled');
          const cancelled: Order = { ...order, status: 'cancelled', updatedAt: now() };
          this.orders.set(order.id, cancelled);
          return cancelled;
        }),
    };
    for (const name of only) handlers[name]();
    await server.start();
    this.servers.push(server);
    return server;
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.close()));
    this.servers.length = 0;
  }

  /** Deletes every queue the routes' servers declared. */
  async deleteQueues(): Promise<void> {
    await deleteRouteQueues(queueNamesOf(this.queuePrefix));
  }
}

export async function deleteRouteQueues(names: string[]): Promise<void> {
  const connection = await connect(AMQP_URL);
  connection.on('error', () => undefined);
  try {
    for (const name of names) {
      for (const queue of [name, `${name}.dead-letter`]) {
        const channel = await connection.createChannel();
        channel.on('error', () => undefined);
        await channel.deleteQueue(queue).catch(() => undefined);
        await channel.close().catch(() => undefined);
      }
    }
  } finally {
    await connection.close().catch(() => undefined);
  }
}

export const defaultTestConfig: AppConfig = {
  rpcTimeoutMs: 1000,
  bodyLimit: '64kb',
  cacheTtlSeconds: 30,
  idempotencyTtlSeconds: 86_400,
  rateLimitPerMinute: 100_000,
  rateLimitWindowMs: 60_000,
  corsOrigins: [],
  trustProxy: false,
};

export interface TestGateway {
  app: Express;
  rpc: RpcClient;
  redis: Redis;
  registry: Registry;
  redisKeyPrefix: string;
  close(): Promise<void>;
}

/** Resolves once Redis answers (or at once when `expectDown`). */
async function redisReady(redis: Redis): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('redis did not become ready')), 5000);
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** The gateway app built by createApp with real dependencies: a real RpcClient and a real Redis. */
export interface GatewayOptions {
  /** The queues the gateway calls (default: a unique prefix, served by nobody). */
  queuePrefix?: string;
  /** MAX_IN_FLIGHT_RPC (default 512). */
  maxInFlightRpc?: number;
  config?: Partial<AppConfig>;
  redisUrl?: string;
  readinessCacheMs?: number;
  /** Options of the gateway's RpcClient, e.g. a `url` through a proxy. */
  rpc?: Partial<RpcClientOptions>;
  /** Load shedding by the event-loop delay (default: none). */
  shedder?: LoadShedder;
  /** Bearer-token verification (default: none, the API is open). */
  tokenVerifier?: TokenVerifier;
}

export async function startGateway(options: GatewayOptions = {}): Promise<TestGateway> {
  const registry = new Registry();
  const redisUrl = options.redisUrl ?? REDIS_URL;
  const redis = createRedis(redisUrl, logger);
  if (redisUrl !== DEAD_REDIS_URL) await redisReady(redis);
  const readinessCacheMs = options.readinessCacheMs ?? 100;
  // As the gateway's main.ts builds it.
  const rpc = new RpcClient({
    url: AMQP_URL,
    connectionName: uniqueName('gwtest-client'),
    registry,
    queuePrefix: options.queuePrefix ?? uniqueQueuePrefix(),
    maxInFlight: options.maxInFlightRpc ?? 512,
    failFastWithoutConsumer: true,
    consumerCountTtlMs: readinessCacheMs,
    ...options.rpc,
  });
  await rpc.start();
  const redisKeyPrefix = `${uniqueName('gwtest')}:`;
  const app = createApp({
    config: { ...defaultTestConfig, ...options.config },
    rpc,
    redis,
    registry,
    logger,
    redisKeyPrefix,
    readinessCacheMs,
    shedder: options.shedder,
    tokenVerifier: options.tokenVerifier,
  });
  return {
    app,
    rpc,
    redis,
    registry,
    redisKeyPrefix,
    async close() {
      await rpc.close();
      if (redis.status === 'ready') {
        const keys = await redis.keys(`${redisKeyPrefix}*`);
        if (keys.length > 0) await redis.del(...keys);
      }
      await closeRedis(redis);
    },
  };
}

/**
 * A gateway in front of a FakeBackend, on queues of their own: started before the tests of the describe block it is
 * called in, stopped and its queues deleted after them. `gateway` is there once the tests run.
 */
/**
 * A gateway over a FakeBackend for the enclosing describe. `authenticated`: bearer tokens required, from a local
 * issuer of its own (`issuer`, to mint them).
 */
export function useGatewayOverFakeBackend(
  options: { serve?: RouteKey[]; gateway?: Omit<GatewayOptions, 'queuePrefix'>; authenticated?: boolean } = {},
) {
  const queuePrefix = uniqueQueuePrefix();
  const backend = new FakeBackend(queuePrefix);
  let gateway: TestGateway | undefined;
  let issuer: LocalIssuer | undefined;
  beforeAll(async () => {
    await backend.start(options.serve);
    if (options.authenticated) issuer = await startLocalIssuer();
    const tokenVerifier = issuer
      ? createTokenVerifier({ issuer: issuer.issuer, audience: issuer.audience, jwksUrl: issuer.jwksUrl })
      : undefined;
    gateway = await startGateway({ ...options.gateway, ...(tokenVerifier ? { tokenVerifier } : {}), queuePrefix });
  });
  afterAll(async () => {
    await gateway?.close();
    await backend.stop();
    await backend.deleteQueues();
    await issuer?.close();
  });
  return {
    backend,
    get gateway(): TestGateway {
      if (!gateway) throw new Error('the gateway starts in beforeAll');
      return gateway;
    },
    get issuer(): LocalIssuer {
      if (!issuer) throw new Error('the issuer starts in beforeAll, with authenticated: true');
      return issuer;
    },
    http: () => request(gateway!.app),
  };
}

/** A user body no other test uses. */
export function newUserBody(name = 'Ada Lovelace') {
  return { name, email: `${uniqueName('ada')}@example.com` };
}

/** Resolves once `condition` holds, polling; rejects after `timeoutMs`. */
export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(25);
  }
}
