import { randomBytes } from 'node:crypto';
import { defineRoute } from '@warren/rpc';
import { z } from 'zod';
import type { BenchQueues } from './config';

const echoMessage = z.object({ text: z.string() });
export type EchoMessage = z.infer<typeof echoMessage>;

/** The request both implementations echo: small, like a typical RPC argument. */
export const ECHO_PAYLOAD: EchoMessage = Object.freeze({ text: 'hello from the warren rpc bench' });

/** The warren route for the echo; its name is its queue's name. */
export function echoRoute(name: string) {
  return defineRoute(name, { request: echoMessage, reply: echoMessage });
}

/**
 * Prefetch of both echo servers. 16 is RpcServer's default `concurrency`;
 * it is passed to RpcServer explicitly as well so the floor cannot drift from it.
 */
export const SERVER_PREFETCH = 16;

/** What RpcServer declares for a route's dead letters when given no options (see server.ts). */
export const RPC_SERVER_DEAD_LETTER_EXCHANGE = 'warren.dead-letter';

/**
 * The arguments RpcServer's setUpConsumers gives a route queue with default
 * options. The floor queue is declared with exactly these so both sides pay
 * the same broker-side cost (a replicated quorum queue); the generator checks
 * the match against the broker before measuring.
 */
export function rpcServerQueueArguments(): Record<string, unknown> {
  return {
    'x-queue-type': 'quorum',
    'x-dead-letter-exchange': RPC_SERVER_DEAD_LETTER_EXCHANGE,
    'x-delivery-limit': 5,
  };
}

/** Fresh queue names, valid as warren route names, so runs never share a queue. */
export function uniqueQueues(): BenchQueues {
  const suffix = randomBytes(4).toString('hex');
  return { warren: `bench.warrenEcho${suffix}`, floor: `bench.floorEcho${suffix}` };
}

/** Every queue a run declares: the two echo queues and the dead-letter queue RpcServer adds to its route. */
export function declaredQueues(queues: BenchQueues): string[] {
  return [queues.warren, `${queues.warren}.dead-letter`, queues.floor];
}

/** Throws unless a reply is the echo of ECHO_PAYLOAD, so a wrong answer never counts as a call. */
export function assertEcho(reply: unknown): void {
  if ((reply as Partial<EchoMessage> | null)?.text !== ECHO_PAYLOAD.text) {
    throw new Error(`echo came back wrong: ${JSON.stringify(reply)}`);
  }
}
