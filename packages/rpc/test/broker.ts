import { randomBytes } from 'node:crypto';
import { connect, type Channel, type ChannelModel } from 'amqplib';

// Local defaults match scripts/services.sh; CI may point elsewhere.
export const AMQP_URL = process.env.AMQP_URL ?? 'amqp://warren:warren@127.0.0.1:5672';
export const MANAGEMENT_URL = process.env.RABBITMQ_MANAGEMENT_URL ?? 'http://warren:warren@127.0.0.1:15672';

/** A name no other test uses, valid as a route segment. */
export function uniqueName(prefix: string): string {
  return `${prefix}${randomBytes(5).toString('hex')}`;
}

/** A request to the broker's management API (`path` after `/api`), signed with the URL's credentials. */
export async function management(path: string, init: RequestInit = {}): Promise<Response> {
  const base = new URL(MANAGEMENT_URL);
  const authorization = `Basic ${Buffer.from(`${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`).toString('base64')}`;
  base.username = '';
  base.password = '';
  return fetch(new URL(`/api${path}`, base), { ...init, headers: { authorization, ...init.headers } });
}

/**
 * The broker's names of the connections a client opened under `connectionName`.
 * The management API lists a connection only after its next statistics tick, so this polls.
 */
export async function findConnectionsNamed(connectionName: string): Promise<string[]> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const response = await management('/connections?columns=name,client_properties');
    const connections = (await response.json()) as { name: string; client_properties?: { connection_name?: string } }[];
    const matching = connections.filter((c) => c.client_properties?.connection_name === connectionName);
    if (matching.length > 0) return matching.map((connection) => connection.name);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no broker connection named ${connectionName}`);
}

/** Forcibly closes broker connections through the management API, as an operator or a network fault would. */
export async function closeConnections(brokerNames: string[]): Promise<void> {
  for (const name of brokerNames) {
    const response = await management(`/connections/${encodeURIComponent(name)}`, {
      method: 'DELETE',
      headers: { 'x-reason': 'test closes the connection' },
    });
    if (!response.ok && response.status !== 404) throw new Error(`closing ${name}: HTTP ${response.status}`);
  }
}

/** A plain amqplib connection for tests that talk to the broker behind the package's back. */
export async function rawChannel(): Promise<{ connection: ChannelModel; channel: Channel }> {
  const connection = await connect(AMQP_URL);
  connection.on('error', () => undefined);
  const channel = await connection.createChannel();
  channel.on('error', () => undefined);
  return { connection, channel };
}

/** Resolves once `condition` holds, polling; rejects after `timeoutMs`. */
export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Deletes a route's queue and its dead-letter queue. */
export async function deleteRouteQueues(channel: Channel, route: string): Promise<void> {
  await channel.deleteQueue(route);
  await channel.deleteQueue(`${route}.dead-letter`);
}
