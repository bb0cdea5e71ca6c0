/**
 * k6 load tests of Warren's request/reply path: `k6 run loadtest/k6/warren.ts` with BASE_URL (default
 * http://127.0.0.1:3000), PROFILE (smoke, load, stress, spike, soak; default smoke), RATE_SCALE (default 1),
 * WARREN_TOKEN (a bearer token for every request, default none; pass it from the shell's environment rather than
 * with -e, so it stays off the command line) and RUN_ID (default: the start time, taken once in setup()) in the
 * environment (`-e NAME=value`). The scenarios and thresholds are
 * ../data/scenarios.json; the flows, requests and checks are ../lib, shared with the Node engine
 * (`npm run loadtest`). Never pass --vus or --duration: they replace the scenarios.
 */
import { check } from 'k6';
import exec from 'k6/execution';
import http from 'k6/http';
import { Counter, Rate } from 'k6/metrics';
import type { Options } from 'k6/options';
import { isRefusal, isServerError } from '../lib/checks.ts';
import { flowOf, type FlowContext } from '../lib/flows.ts';
import type { Flow, LoadRequest, LoadResponse } from '../lib/http-types.ts';
import { k6Options, parseSettings, type ScenarioData } from '../lib/profiles.ts';
import { withBearerToken } from '../lib/requests.ts';
import { textSummary, type SummaryData } from '../lib/summary.ts';

const scenarioData = JSON.parse(open('../data/scenarios.json')) as ScenarioData;
const settings = parseSettings(__ENV, scenarioData);

export const options: Options = k6Options(scenarioData, settings);

/** Per request: a 5xx that is not a refusal with Retry-After. */
const serverErrors = new Rate('server_errors');
/** Refusals with Retry-After (503 load shedding, 429 rate limit): expected under overload, counted. */
const refusedRequests = new Counter('refused_requests');

function send(request: LoadRequest): LoadResponse {
  const response = http.request(request.method, settings.baseUrl + request.path, request.body ?? null, {
    headers: withBearerToken(request, settings.token).headers,
    tags: request.tags,
    responseType: 'text',
  });
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) headers[name.toLowerCase()] = value;
  const answer = { status: response.status, headers, body: typeof response.body === 'string' ? response.body : '' };
  serverErrors.add(isServerError(answer), request.tags);
  if (isRefusal(answer)) refusedRequests.add(1, { ...request.tags, status: String(answer.status) });
  return answer;
}

function run(flow: Flow): void {
  for (let step = flow.next(); !step.done;) {
    const { request, checks } = step.value;
    const response = send(request);
    const results = checks(response);
    const checkers: Record<string, () => boolean> = {};
    for (const [name, passed] of Object.entries(results)) checkers[name] = () => passed;
    check(response, checkers, request.tags);
    step = flow.next(response);
  }
}

/** What setup() hands every iteration: one run id for the whole test (init code runs once per VU). */
interface SetupData {
  runId: string;
}

export function setup(): SetupData {
  return { runId: __ENV.RUN_ID || Date.now().toString(36) };
}

let calls = 0;
const contextOf = ({ runId }: SetupData): FlowContext => ({
  unique: () => `${runId}-${exec.vu.idInTest}-${exec.vu.iterationInInstance}-${calls++}`,
  random: Math.random,
});

export function createUser(data: SetupData): void {
  run(flowOf('createUser', contextOf(data), scenarioData.mix));
}

export function readUser(data: SetupData): void {
  run(flowOf('readUser', contextOf(data), scenarioData.mix));
}

export function placeOrder(data: SetupData): void {
  run(flowOf('placeOrder', contextOf(data), scenarioData.mix));
}

export function mix(data: SetupData): void {
  run(flowOf('mix', contextOf(data), scenarioData.mix));
}

/** The text summary on stdout and the JSON one in summary-<profile>.json (the CI job uploads it). */
export function handleSummary(summary: SummaryData): Record<string, string> {
  return {
    stdout: textSummary(summary, `k6, profile ${settings.profile}`),
    [`summary-${settings.profile}.json`]: JSON.stringify(summary, null, 2),
  };
}
