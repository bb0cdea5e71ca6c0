import { Registry } from 'prom-client';
import { z } from 'zod';
import {
  defineRoute,
  RpcAbortedError,
  RpcError,
  RpcNoRouteError,
  RpcRemoteError,
  RpcServer,
  RpcTimeoutError,
  RpcUnavailableError,
} from '../../src';
import { AMQP_URL, deleteRouteQueues, eventually, rawChannel, uniqueName } from '../broker';
import { metricValue, sleep, startEchoPair } from '../fixture';

jest.setTimeout(30_000);

describe('RpcClient.call against a real broker', () => {
  let pair: Awaited<ReturnType<typeof startEchoPair>>;

  beforeAll(async () => {
    pair = await startEchoPair();
  });
  afterEach(() => {
    expect(pair.client.pendingCount).toBe(0);
  });
  afterAll(async () => {
    await pair.stop();
  });

  it('round-trips a typed request and reply', async () => {
    const reply = await pair.client.call(pair.route, { text: 'hello' });
    expect(reply).toEqual({ text: 'hello', pid: process.pid });
    expect(await metricValue(pair.registry, 'rpc_client_in_flight', { route: pair.route.name })).toBe(0);
  });

  it("reports a route's consumers, and a missing queue as not existing rather than as a broker failure", async () => {
    await expect(pair.client.routeStatus(pair.route.name)).resolves.toEqual({
      exists: true,
      consumers: 1,
      messages: 0,
    });
    await expect(pair.client.routeStatus(uniqueName('test.missing'))).resolves.toEqual({
      exists: false,
      consumers: 0,
      messages: 0,
    });
    // The probe's channel closed under it (a missing queue does that); calls on the client's own channel go on.
    await expect(pair.client.call(pair.route, { text: 'after probes' })).resolves.toMatchObject({
      text: 'after probes',
    });
  });

  it('gives each of 1,000 concurrent calls its own reply', async () => {
    const texts = Array.from({ length: 1000 }, (_, index) => `message-${index}`);
    const replies = await Promise.all(texts.map((text) => pair.client.call(pair.route, { text })));
    expect(replies.map((reply) => reply.text)).toEqual(texts);
  });

  it('rejects with RpcTimeoutError at the deadline', async () => {
    const call = pair.client.call(pair.route, { text: 'slow', delayMs: 1000 }, { timeoutMs: 150 });
    await expect(call).rejects.toBeInstanceOf(RpcTimeoutError);
    await expect(call).rejects.toMatchObject({ code: 'deadline_exceeded', retriable: true });
    expect(await metricValue(pair.registry, 'rpc_client_timeouts_total', { route: pair.route.name })).toBe(1);
  });

  it('fails with RpcNoRouteError at once when no queue is bound, without waiting for the timeout', async () => {
    const missing = defineRoute(uniqueName('test.missing'), { request: z.object({}), reply: z.object({}) });
    // A timeout far beyond the test's own: only an immediate basic.return can settle this call in time.
    const call = pair.client.call(missing, {}, { timeoutMs: 60_000 });
    await expect(call).rejects.toBeInstanceOf(RpcNoRouteError);
  });

  it('rethrows remote errors with their code, message and details, and hides unexpected ones', async () => {
    const route = defineRoute(uniqueName('test.failing'), {
      request: z.object({ kind: z.enum(['not_found', 'conflict', 'bug']) }),
      reply: z.object({}),
    });
    const registry = new Registry();
    const server = new RpcServer({ url: AMQP_URL, connectionName: uniqueName('failing'), registry });
    server.handle(route, ({ kind }) => {
      if (kind === 'bug') throw new Error('secret internals at /srv/app.js:12');
      throw new RpcError(kind, `it was ${kind}`, { details: { id: 'abc' } });
    });
    await server.start();
    try {
      await expect(pair.client.call(route, { kind: 'not_found' })).rejects.toMatchObject({
        constructor: RpcRemoteError,
        code: 'not_found',
        message: 'it was not_found',
        details: { id: 'abc' },
        retriable: false,
      });
      await expect(pair.client.call(route, { kind: 'conflict' })).rejects.toMatchObject({ code: 'conflict' });
      const hidden = await pair.client.call(route, { kind: 'bug' }).catch((error: RpcRemoteError) => error);
      expect(hidden).toBeInstanceOf(RpcRemoteError);
      expect(hidden).toMatchObject({ code: 'internal', message: 'internal error' });
      expect(JSON.stringify(hidden)).not.toContain('secret');
      // The server counts each error by its code, so dashboards tell a missing entity from a fault.
      for (const code of ['not_found', 'conflict', 'internal']) {
        expect(await metricValue(registry, 'rpc_server_errors_total', { route: route.name, code })).toBe(1);
      }
    } finally {
      await server.close();
      const { connection, channel } = await rawChannel();
      await deleteRouteQueues(channel, route.name);
      await connection.close();
    }
  });

  it('answers a request that fails its schema with invalid_argument naming the field', async () => {
    const call = pair.client.call(pair.route, { text: 42 } as never);
    await expect(call).rejects.toMatchObject({
      code: 'invalid_argument',
      details: [expect.objectContaining({ path: 'text' })],
    });
    const labels = { route: pair.route.name, code: 'invalid_argument' };
    expect(await metricValue(pair.registry, 'rpc_server_errors_total', labels)).toBe(1);
  });

  it('rejects with RpcAbortedError when the signal aborts, before or during the call', async () => {
    const controller = new AbortController();
    const call = pair.client.call(pair.route, { text: 'abort me', delayMs: 500 }, { signal: controller.signal });
    controller.abort();
    await expect(call).rejects.toBeInstanceOf(RpcAbortedError);
    await expect(pair.client.call(pair.route, { text: 'x' }, { signal: controller.signal })).rejects.toBeInstanceOf(
      RpcAbortedError,
    );
  });

  it('rejects with RpcUnavailableError when the broker refuses the message (publisher confirm nack)', async () => {
    const full = uniqueName('test.full');
    const { connection, channel } = await rawChannel();
    await channel.assertQueue(full, { arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' } });
    try {
      const route = defineRoute(full, { request: z.object({}), reply: z.object({}) });
      await expect(pair.client.call(route, {}, { timeoutMs: 60_000 })).rejects.toBeInstanceOf(RpcUnavailableError);
    } finally {
      await channel.deleteQueue(full);
      await connection.close();
    }
  });

  it('passes caller headers and the deadline to the handler', async () => {
    const route = defineRoute(uniqueName('test.headers'), {
      request: z.object({}),
      reply: z.object({ requestId: z.string(), left: z.number() }),
    });
    const server = new RpcServer({ url: AMQP_URL, connectionName: uniqueName('headers') });
    server.handle(route, (_request, context) => ({
      requestId: String(context.headers['x-request-id']),
      left: (context.deadline ?? 0) - Date.now(),
    }));
    await server.start();
    try {
      const reply = await pair.client.call(route, {}, { timeoutMs: 4000, headers: { 'x-request-id': 'req-7' } });
      expect(reply.requestId).toBe('req-7');
      expect(reply.left).toBeGreaterThan(0);
      expect(reply.left).toBeLessThanOrEqual(4000);
    } finally {
      await server.close();
      const { connection, channel } = await rawChannel();
      await deleteRouteQueues(channel, route.name);
      await connection.close();
    }
  });

  it("aborts the handler's signal at the request's deadline, so a slow handler can stop", async () => {
    const route = defineRoute(uniqueName('test.slow'), {
      request: z.object({}),
      reply: z.object({ done: z.boolean() }),
    });
    const server = new RpcServer({ url: AMQP_URL, connectionName: uniqueName('slow-server') });
    let observed: { afterMs: number; reason: unknown; deadline: number | undefined } | undefined;
    server.handle(route, async (_request, context) => {
      const startedAt = Date.now();
      // Work that stops when told to, as a query given the signal would.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 5000);
        context.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          observed = { afterMs: Date.now() - startedAt, reason: context.signal.reason, deadline: context.deadline };
          resolve();
        });
      });
      return { done: !context.signal.aborted };
    });
    await server.start();
    try {
      const calledAt = Date.now();
      await expect(pair.client.call(route, {}, { timeoutMs: 300 })).rejects.toBeInstanceOf(RpcTimeoutError);
      await eventually(() => observed !== undefined);
      expect(observed!.deadline).toBeGreaterThanOrEqual(calledAt + 300);
      // Aborted about when the caller gave up, not after the 5 s the work would have taken.
      expect(observed!.afterMs).toBeLessThan(2000);
      expect(observed!.reason).toMatchObject({ code: 'deadline_exceeded' });
    } finally {
      await server.close();
      const { connection, channel } = await rawChannel();
      await deleteRouteQueues(channel, route.name).catch(() => undefined);
      await connection.close();
    }
  });

  it("aborts a call made with a parent's signal when the parent's work is abandoned", async () => {
    const parent = new AbortController();
    const call = pair.client.call(pair.route, { text: 'nested', delayMs: 2000 }, { parent: { signal: parent.signal } });
    setTimeout(() => parent.abort(new Error('the parent gave up')), 100);
    await expect(call).rejects.toBeInstanceOf(RpcAbortedError);
    await sleep(2100); // its late reply lands before the next test counts them
  });

  it('settles a slow call once, and counts and logs its late reply', async () => {
    const late = () => metricValue(pair.registry, 'rpc_client_unmatched_replies_total', { reason: 'late' });
    const before = await late();
    await expect(
      pair.client.call(pair.route, { text: 'late', delayMs: 300 }, { timeoutMs: 100 }),
    ).rejects.toBeInstanceOf(RpcTimeoutError);
    await sleep(400);
    expect(pair.client.pendingCount).toBe(0);
    // At least this one: a late reply of an earlier test's timed-out call may land in the same window.
    expect(await late()).toBeGreaterThanOrEqual(before + 1);
    const logged = pair.logger.lines.filter((line) => line.message === 'rpc reply matched no pending call');
    expect(logged.at(-1)).toMatchObject({ level: 'debug', object: { reason: 'late' } });
    await expect(pair.client.call(pair.route, { text: 'after' })).resolves.toMatchObject({ text: 'after' });
  });

  it('counts a reply for a correlation id it never sent as unknown, and still matches the real one', async () => {
    const route = defineRoute(uniqueName('test.stranger'), {
      request: z.object({}),
      reply: z.object({ n: z.number() }),
    });
    const { connection, channel } = await rawChannel();
    try {
      await channel.assertQueue(route.name, { durable: false, autoDelete: true });
      await channel.consume(route.name, (message) => {
        if (!message) return;
        const { replyTo, correlationId } = message.properties;
        channel.publish('', replyTo, Buffer.from(JSON.stringify({ ok: true, result: { n: 0 } })), {
          correlationId: 'not-one-of-ours',
        });
        channel.publish('', replyTo, Buffer.from(JSON.stringify({ ok: true, result: { n: 1 } })), { correlationId });
        channel.ack(message);
      });
      const unknown = () => metricValue(pair.registry, 'rpc_client_unmatched_replies_total', { reason: 'unknown' });
      const before = await unknown();
      await expect(pair.client.call(route, {})).resolves.toEqual({ n: 1 });
      expect(await unknown()).toBe(before + 1);
    } finally {
      await channel.deleteQueue(route.name).catch(() => undefined);
      await connection.close();
    }
  });
});
