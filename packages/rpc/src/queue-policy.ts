import { DEFAULT_DEAD_LETTER_EXCHANGE } from './queues';

/**
 * The settings of a route's queue that may change over its life (dead-lettering, the delivery limit) live in a
 * broker policy, not in the queue's arguments: an argument is fixed when the queue is declared, and a declaration
 * with another value fails 406 PRECONDITION_FAILED until the queue is deleted; a policy changes on the live queue.
 * Only the queue type, which no policy can change, stays an argument (see routeQueueDeclaration).
 */

export const ROUTE_QUEUE_POLICY_NAME = 'warren-route-queues';
export const DEFAULT_DELIVERY_LIMIT = 5;

/** A RabbitMQ policy as the management API and definitions files spell it. */
export interface RouteQueuePolicy {
  name: string;
  pattern: string;
  'apply-to': 'queues';
  priority: number;
  definition: { 'delivery-limit': number; 'dead-letter-exchange': string };
}

export interface RouteQueuePolicySettings {
  /** Deliveries of one message before a quorum queue dead-letters it (default 5): a poison message that kills workers. */
  deliveryLimit?: number;
  /** Exchange that receives rejected messages (default `warren.dead-letter`); the servers' deadLetterExchange. */
  deadLetterExchange?: string;
  /** Only queues whose names start with it (default none: every queue of the vhost but the excluded ones). */
  queuePrefix?: string;
  /** The policy's name (default `warren-route-queues`): setting it again under this name replaces it. */
  name?: string;
  /** RabbitMQ applies one policy per queue, the matching one of highest priority (default 0). */
  priority?: number;
}

/**
 * The policy of every route queue of a vhost. It leaves out server-named queues (`amq.*`) and the dead-letter
 * queues, which must keep what is dead-lettered there: a delivery limit on them would drop a message an operator
 * looks at too often.
 */
export function routeQueuePolicy(settings: RouteQueuePolicySettings = {}): RouteQueuePolicy {
  const deliveryLimit = settings.deliveryLimit ?? DEFAULT_DELIVERY_LIMIT;
  if (!Number.isInteger(deliveryLimit) || deliveryLimit < 1) throw new RangeError('deliveryLimit must be >= 1');
  return {
    name: settings.name ?? ROUTE_QUEUE_POLICY_NAME,
    pattern: `^${escapeRegExp(settings.queuePrefix ?? '')}(?!amq\\.)(?!.*\\.dead-letter$)`,
    'apply-to': 'queues',
    priority: settings.priority ?? 0,
    definition: {
      'delivery-limit': deliveryLimit,
      'dead-letter-exchange': settings.deadLetterExchange ?? DEFAULT_DEAD_LETTER_EXCHANGE,
    },
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The policy could not be set: the management API refused it or did not answer. */
export class BrokerPolicyError extends Error {
  readonly code = 'broker_policy_failed';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BrokerPolicyError';
  }
}

export interface ManagementApiTarget {
  /** The management API's base URL; its user and password (a `policymaker` or administrator) sign the request. */
  url: string;
  /** The vhost the policy is set on (default `/`). */
  vhost?: string;
  /** How long the request may take (default 10000 ms). */
  timeoutMs?: number;
}

/** Sets (creates or replaces) the route queue policy through RabbitMQ's management HTTP API. */
export async function applyRouteQueuePolicy(
  target: ManagementApiTarget,
  settings: RouteQueuePolicySettings = {},
): Promise<RouteQueuePolicy> {
  const policy = routeQueuePolicy(settings);
  const vhost = target.vhost ?? '/';
  const base = new URL(target.url);
  const authorization = `Basic ${Buffer.from(`${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`).toString('base64')}`;
  base.username = '';
  base.password = '';
  const where = new URL(
    `api/policies/${encodeURIComponent(vhost)}/${encodeURIComponent(policy.name)}`,
    withSlash(base),
  );
  const { name: _name, ...body } = policy;
  let response: Response;
  try {
    response = await fetch(where, {
      method: 'PUT',
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(target.timeoutMs ?? 10_000),
    });
  } catch (cause) {
    throw new BrokerPolicyError(`the management API at ${base.origin} did not answer`, { cause });
  }
  if (!response.ok) {
    const detail = (await response.text().catch(() => '')).slice(0, 300);
    throw new BrokerPolicyError(`setting policy ${policy.name} on vhost ${vhost}: HTTP ${response.status} ${detail}`);
  }
  return policy;
}

function withSlash(url: URL): URL {
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}
