import { parseArgs } from 'node:util';
import type { RouteQueuePolicySettings } from '../queue-policy';

export const USAGE = `Sets the route queue policy (delivery limit, dead-letter exchange) on a RabbitMQ vhost, creating or replacing it.

  node packages/rpc/dist/bin/apply-queue-policy.js [options]

  RABBITMQ_MANAGEMENT_URL  the management API's URL (port 15672), with the user and password of a policymaker or
                           administrator in it

  --vhost <name>                 default /
  --delivery-limit <n>           default 5
  --dead-letter-exchange <name>  default warren.dead-letter
  --wait-seconds <n>             retry while the broker does not answer, up to n seconds (default 0: once)
`;

/** What apply-queue-policy does, from its command line and RABBITMQ_MANAGEMENT_URL. */
export interface ApplyQueuePolicyConfig {
  managementUrl: string;
  vhost: string;
  settings: RouteQueuePolicySettings;
  waitSeconds: number;
}

/** A command line the command does not understand: its message says why, USAGE says how. */
export class UsageError extends Error {
  readonly code = 'usage';
}

function wholeNumber(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new UsageError(`--${name} must be a whole number, not ${text}`);
  return value;
}

/** Parses the command line; undefined when it asks for help. */
export function parseApplyQueuePolicyConfig(
  argv: string[],
  environment: NodeJS.ProcessEnv = process.env,
): ApplyQueuePolicyConfig | undefined {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        vhost: { type: 'string' },
        'delivery-limit': { type: 'string' },
        'dead-letter-exchange': { type: 'string' },
        'wait-seconds': { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return undefined;
  const managementUrl = environment.RABBITMQ_MANAGEMENT_URL;
  if (!managementUrl) throw new UsageError('RABBITMQ_MANAGEMENT_URL is not set');
  return {
    managementUrl,
    vhost: values.vhost ?? '/',
    settings: {
      deliveryLimit: wholeNumber('delivery-limit', values['delivery-limit']),
      deadLetterExchange: values['dead-letter-exchange'],
    },
    waitSeconds: wholeNumber('wait-seconds', values['wait-seconds']) ?? 0,
  };
}
