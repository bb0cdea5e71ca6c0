import { FakeWarren } from '../testing/fake-warren.ts';
import { FLOW_NAMES, FLOWS, mix, pickFlow, type FlowContext } from './flows.ts';
import type { Flow } from './http-types.ts';

let counter = 0;
const context: FlowContext = { unique: () => `t${counter++}`, random: () => 0.5 };

/** Drives a flow against the fake server; every check result, by name. */
function drive(flow: Flow, server: FakeWarren): Record<string, boolean>[] {
  const results: Record<string, boolean>[] = [];
  for (let step = flow.next(); !step.done;) {
    const response = server.answer(step.value.request);
    results.push(step.value.checks(response));
    step = flow.next(response);
  }
  return results;
}

const failedChecks = (results: Record<string, boolean>[]) =>
  results.flatMap((checks) =>
    Object.entries(checks)
      .filter(([, passed]) => !passed)
      .map(([name]) => name),
  );

describe('the flows', () => {
  it.each([
    ['createUser', ['POST /v1/users', 'POST /v1/users (replay)']],
    ['readUser', ['POST /v1/users', 'GET /v1/users/:id (miss)', 'GET /v1/users/:id (hit)']],
    ['placeOrder', ['POST /v1/users', 'POST /v1/orders', 'GET /v1/users/:id/orders', 'POST /v1/orders/:id/cancel']],
  ] as const)('%s sends its requests in order and every check passes against a correct server', (name, routes) => {
    const server = new FakeWarren();
    const results = drive(FLOWS[name](context), server);
    expect(server.requests.map((request) => request.tags.name)).toEqual(routes);
    expect(failedChecks(results)).toEqual([]);
    expect(results.every((checks) => Object.keys(checks).length >= 2)).toBe(true);
  });

  it('fails the checks of a server that gets them wrong: a replay that is not the first response, a wrong total', () => {
    const server = new FakeWarren();
    const answer = server.answer.bind(server);
    server.answer = (request) => {
      const response = answer(request);
      if (request.tags.name === 'POST /v1/users (replay)')
        return { ...response, headers: { ...response.headers, 'idempotent-replayed': 'false' } };
      if (request.tags.name === 'POST /v1/orders')
        return { ...response, body: response.body.replace(/"totalCents":\d+/, '"totalCents":1') };
      return response;
    };
    expect(failedChecks(drive(FLOWS.createUser(context), server))).toEqual([
      'POST /v1/users (replay): Idempotent-Replayed: true',
    ]);
    expect(failedChecks(drive(FLOWS.placeOrder(context), server))).toEqual([
      'POST /v1/orders: confirmed for the user, total computed by the server',
    ]);
  });

  it('stops at a refusal, which fails no check: 503 with Retry-After is an expected answer to overload', () => {
    const server = new FakeWarren();
    server.refuseAll = true;
    for (const name of FLOW_NAMES) {
      const results = drive(FLOWS[name](context), server);
      expect(results).toHaveLength(1);
      expect(failedChecks(results)).toEqual([]);
    }
  });

  it.each([
    [
      'a 500',
      500,
      { 'content-type': 'application/problem+json' },
      ['POST /v1/users: status 201 or a refusal with Retry-After'],
    ],
    [
      'a 503 without Retry-After, as text',
      503,
      { 'content-type': 'text/plain' },
      [
        'POST /v1/users: status 201 or a refusal with Retry-After',
        'POST /v1/users: errors are application/problem+json',
      ],
    ],
  ])('counts %s as failed checks', (_what, status, headers, failed) => {
    const server = new FakeWarren();
    server.answer = () => ({ status, headers, body: '{}' });
    expect(failedChecks(drive(FLOWS.createUser(context), server))).toEqual(failed);
  });

  it('draws the mix by weight', () => {
    const weights = { createUser: 2, readUser: 5, placeOrder: 3 };
    expect(pickFlow(weights, 0)).toBe('createUser');
    expect(pickFlow(weights, 0.19)).toBe('createUser');
    expect(pickFlow(weights, 0.2)).toBe('readUser');
    expect(pickFlow(weights, 0.69)).toBe('readUser');
    expect(pickFlow(weights, 0.7)).toBe('placeOrder');
    expect(pickFlow(weights, 0.9999)).toBe('placeOrder');
    expect(() => pickFlow({}, 0.5)).toThrow('no flow with a positive weight');
    const server = new FakeWarren();
    drive(mix({ ...context, random: () => 0.75 }, weights), server);
    expect(server.requests[1]?.tags.name).toBe('POST /v1/orders');
  });
});
