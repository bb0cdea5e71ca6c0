/**
 * The scenarios' iterations, one per flow, written once for both engines (see http-types.ts, Flow). A flow stops
 * at the first response that is not the expected success: a refused or failed write leaves nothing to read back.
 */
import * as check from './checks.ts';
import type { Flow, FlowStep, LoadRequest, LoadResponse } from './http-types.ts';
import * as request from './requests.ts';

export interface FlowContext {
  /** A token unique in the run: per virtual user, iteration and call. */
  unique(): string;
  /** In [0, 1): the mix's choice. */
  random(): number;
}

export type FlowName = 'createUser' | 'readUser' | 'placeOrder';
export const FLOW_NAMES: readonly FlowName[] = ['createUser', 'readUser', 'placeOrder'];

const idOf = (response: LoadResponse): string | undefined => {
  const id = check.parseJson(response)?.id;
  return typeof id === 'string' ? id : undefined;
};

/** Creates a user; yields undefined for the id when it was not created. */
function* newUser(context: FlowContext): Generator<FlowStep, string | undefined, LoadResponse> {
  const response = yield step(request.createUser(context.unique()), check.userCreated);
  return response.status === 201 ? idOf(response) : undefined;
}

function step(req: LoadRequest, checks: (response: LoadResponse) => check.Checks): FlowStep {
  return { request: req, checks };
}

/** POST /v1/users with an Idempotency-Key, then the same request again: the first response, replayed. */
export function* createUser(context: FlowContext): Flow {
  const create = request.createUser(context.unique());
  const first = yield step(create, check.userCreated);
  if (first.status !== 201) return;
  yield step(request.replay(create), (response) => check.userReplayed(first, response));
}

/** A new user read twice: the first read misses the gateway's cache and goes to the worker, the second hits. */
export function* readUser(context: FlowContext): Flow {
  const id = yield* newUser(context);
  if (id === undefined) return;
  const miss = yield step(request.getUser(id, 'miss'), (response) => check.userRead(id, 'miss', response));
  if (miss.status !== 200) return;
  yield step(request.getUser(id, 'hit'), (response) => check.userRead(id, 'hit', response));
}

/** An order (gateway → orders → users), the user's orders listed, the order cancelled. */
export function* placeOrder(context: FlowContext): Flow {
  const userId = yield* newUser(context);
  if (userId === undefined) return;
  const created = yield step(request.createOrder(userId, context.unique()), (response) =>
    check.orderCreated(userId, response),
  );
  const orderId = created.status === 201 ? idOf(created) : undefined;
  if (orderId === undefined) return;
  const listed = yield step(request.listOrders(userId), (response) => check.ordersListed(orderId, response));
  if (listed.status !== 200) return;
  yield step(request.cancelOrder(orderId, context.unique()), (response) => check.orderCancelled(orderId, response));
}

export const FLOWS: Record<FlowName, (context: FlowContext) => Flow> = { createUser, readUser, placeOrder };

/** One flow drawn by weight (the mix scenario). */
export function pickFlow(weights: Partial<Record<FlowName, number>>, random: number): FlowName {
  const entries = FLOW_NAMES.map((name) => [name, weights[name] ?? 0] as const).filter(([, weight]) => weight > 0);
  const total = entries.reduce((sum, [, weight]) => sum + weight, 0);
  if (total <= 0) throw new Error('the mix has no flow with a positive weight');
  let point = random * total;
  for (const [name, weight] of entries) {
    if (point < weight) return name;
    point -= weight;
  }
  return entries[entries.length - 1]![0];
}

export function* mix(context: FlowContext, weights: Partial<Record<FlowName, number>>): Flow {
  yield* FLOWS[pickFlow(weights, context.random())](context);
}

/** The iteration a scenario runs: its flow, or the mix drawn by `weights`. */
export function flowOf(flow: FlowName | 'mix', context: FlowContext, weights: Partial<Record<FlowName, number>>): Flow {
  return flow === 'mix' ? mix(context, weights) : FLOWS[flow](context);
}
