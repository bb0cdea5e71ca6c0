/** The rpc benchmark's workload: echo round trips of one small message, over two queues of the run's own. */
import { randomBytes } from 'node:crypto';
import { deadLetterQueueOf, defineRoute, queueNameOf } from '@warren/rpc';
import { z } from 'zod';

const echoMessage = z.object({ text: z.string() });
export type EchoMessage = z.infer<typeof echoMessage>;

/** The request both implementations echo: small, like a typical RPC argument. */
export const ECHO_PAYLOAD: EchoMessage = Object.freeze({ text: 'hello from the warren rpc bench' });

/** The queues of one run: each echo server consumes its own. */
export interface EchoQueues {
  /** The RpcServer route; its name is also its queue's. */
  warren: string;
  /** The bare amqplib echo consumer's queue. */
  floor: string;
}

/** The warren route for the echo; its name is its queue's name. */
export function echoRoute(name: string) {
  return defineRoute(name, { request: echoMessage, reply: echoMessage });
}

/**
 * Prefetch of both echo servers. 16 is RpcServer's default `concurrency`;
 * it is passed to RpcServer explicitly as well so the floor cannot drift from it.
 */
export const SERVER_PREFETCH = 16;

/** Fresh queue names, valid as warren route names, so runs never share a queue. */
export function uniqueQueues(): EchoQueues {
  const suffix = randomBytes(4).toString('hex');
  return { warren: `bench.warrenEcho${suffix}`, floor: `bench.floorEcho${suffix}` };
}

/** Every queue a run declares: the two echo queues and the dead-letter queue RpcServer adds to its route. */
export function declaredQueues(queues: EchoQueues): string[] {
  return [queueNameOf(queues.warren), deadLetterQueueOf(queueNameOf(queues.warren)), queues.floor];
}

/** Throws unless a reply is the echo of ECHO_PAYLOAD, so a wrong answer never counts as a call. */
export function assertEcho(reply: unknown): void {
  if ((reply as Partial<EchoMessage> | null)?.text !== ECHO_PAYLOAD.text) {
    throw new Error(`echo came back wrong: ${JSON.stringify(reply)}`);
  }
}
