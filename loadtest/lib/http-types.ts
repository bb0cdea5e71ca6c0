/**
 * What the flows exchange with an HTTP engine, k6's or the Node one: a request to send, and the parts of its
 * response they check. Pure types: this folder imports neither k6 nor Node.
 */

/**
 * The `name` tag of every request: the route with its path parameters as `:id`, and for reads of a user whether
 * the gateway's cache is expected to miss or hit, for a repeated write that it is the replay.
 */
export const ROUTE_NAMES = [
  'POST /v1/users',
  'POST /v1/users (replay)',
  'GET /v1/users/:id (miss)',
  'GET /v1/users/:id (hit)',
  'POST /v1/orders',
  'GET /v1/users/:id/orders',
  'POST /v1/orders/:id/cancel',
] as const;
export type RouteName = (typeof ROUTE_NAMES)[number];

export interface LoadRequest {
  method: 'GET' | 'POST';
  /** From the base URL on, e.g. `/v1/users`. */
  path: string;
  headers: Record<string, string>;
  /** JSON text, for POST. */
  body?: string;
  tags: { name: RouteName };
}

export interface LoadResponse {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: string;
}

/** One request of a flow and how to judge its response: check name → passed. */
export interface FlowStep {
  request: LoadRequest;
  checks(response: LoadResponse): Record<string, boolean>;
}

/**
 * A flow is a generator: it yields a step, receives that step's response, and decides the next request from it (a
 * created user's id, say). k6 drives it with its synchronous `http.request`, the Node engine with its own client.
 */
export type Flow = Generator<FlowStep, void, LoadResponse>;
