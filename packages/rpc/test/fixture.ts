import { Registry } from 'prom-client';
import { z } from 'zod';
import { defineRoute, RpcClient, RpcServer, type RouteDefinition, type RpcLogger } from '../src';
import { AMQP_URL, deleteRouteQueues, rawChannel, uniqueName } from './broker';

export const echoSchemas = {
  request: z.object({ text: z.string(), delayMs: z.number().int().min(0).optional() }).strict(),
  reply: z.object({ text: z.string(), pid: z.number() }),
};

export type EchoRoute = RouteDefinition<typeof echoSchemas.request, typeof echoSchemas.reply>;

/** Log lines a test can look at. */
export function recordingLogger(): RpcLogger & { lines: { level: string; object: object; message: string }[] } {
  const lines: { level: string; object: object; message: string }[] = [];
  const record = (level: string) => (object: object, message: string) => lines.push({ level, object, message });
  return { lines, debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A client and a server on fresh, uniquely named routes, with their own
 * metrics registry; `stop()` closes both and deletes the queues.
 */
export async function startEchoPair(options: { concurrency?: number; withServer?: boolean } = {}) {
  const route: EchoRoute = defineRoute(uniqueName('test.echo'), echoSchemas);
  const registry = new Registry();
  const logger = recordingLogger();
  const server = new RpcServer({ url: AMQP_URL, connectionName: uniqueName('server'), registry, logger });
  const handled: string[] = [];
  server.handle(
    route,
    async ({ text, delayMs }) => {
      handled.push(text);
      if (delayMs) await sleep(delayMs);
      return { text, pid: process.pid };
    },
    { concurrency: options.concurrency ?? 64 },
  );
  if (options.withServer !== false) await server.start();
  const clientName = uniqueName('client');
  const client = new RpcClient({ url: AMQP_URL, connectionName: clientName, registry, logger, defaultTimeoutMs: 5000 });
  await client.start();
  return {
    route,
    registry,
    logger,
    server,
    client,
    clientName,
    handled,
    async stop() {
      await client.close();
      await server.close();
      const { connection, channel } = await rawChannel();
      await deleteRouteQueues(channel, route.name).catch(() => undefined);
      await connection.close();
    },
  };
}

/** The value of a counter or gauge sample in a registry, 0 when absent. */
export async function metricValue(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  const sample = values.find((value) =>
    Object.entries(labels).every(([key, expected]) => String(value.labels[key]) === expected),
  );
  return sample?.value ?? 0;
}
