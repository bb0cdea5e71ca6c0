/**
 * data/scenarios.json, typed, and turned into k6 options: one k6 scenario per entry, its `exec` the function of
 * the flow it runs, the profile's thresholds as they are. Pure: the k6 entry and the Node engine both use it.
 */
import type { FlowName } from './flows.ts';

export type ThresholdDefinition = string | { threshold: string; abortOnFail?: boolean; delayAbortEval?: string };

interface ScenarioBase {
  /** A flow of lib/flows.ts, or the weighted mix. */
  flow: FlowName | 'mix';
  timeUnit?: string;
  preAllocatedVUs: number;
  maxVUs: number;
  startTime?: string;
  gracefulStop?: string;
}

export interface ConstantArrivalRate extends ScenarioBase {
  executor: 'constant-arrival-rate';
  rate: number;
  duration: string;
}

export interface RampingArrivalRate extends ScenarioBase {
  executor: 'ramping-arrival-rate';
  startRate?: number;
  stages: { target: number; duration: string }[];
}

export type ScenarioDefinition = ConstantArrivalRate | RampingArrivalRate;

export interface Profile {
  description: string;
  scenarios: Record<string, ScenarioDefinition>;
  thresholds: Record<string, ThresholdDefinition[]>;
}

export interface ScenarioData {
  mix: Partial<Record<FlowName, number>>;
  profiles: Record<string, Profile>;
}

/** What the scripts read from `__ENV` (k6) or the command line (Node engine), with its defaults. */
export interface LoadSettings {
  /** The gateway, without a trailing slash. Default http://127.0.0.1:3000. */
  baseUrl: string;
  /** A profile of data/scenarios.json. Default smoke. */
  profile: string;
  /** Multiplies every rate and stage target. Default 1. */
  rateScale: number;
  /**
   * WARREN_TOKEN: a bearer token sent with every request, for a gateway with authentication on (an admin's: the flows
   * create users of no subject and read them back; `npm start` prints one). Default none.
   */
  token: string | undefined;
}

export const DEFAULT_SETTINGS: LoadSettings = {
  baseUrl: 'http://127.0.0.1:3000',
  profile: 'smoke',
  rateScale: 1,
  token: undefined,
};

export class LoadSettingsError extends Error {
  readonly code = 'LOAD_SETTINGS_INVALID';
}

/** Settings from string values (k6's `__ENV`, the engine's flags); unknown profile or bad numbers are errors. */
export function parseSettings(
  values: { BASE_URL?: string; PROFILE?: string; RATE_SCALE?: string; WARREN_TOKEN?: string },
  data: ScenarioData,
): LoadSettings {
  const profile = values.PROFILE || DEFAULT_SETTINGS.profile;
  if (!Object.hasOwn(data.profiles, profile)) {
    throw new LoadSettingsError(`PROFILE=${profile}: expected one of ${Object.keys(data.profiles).join(', ')}`);
  }
  const rateScale = values.RATE_SCALE ? Number(values.RATE_SCALE) : DEFAULT_SETTINGS.rateScale;
  if (!Number.isFinite(rateScale) || rateScale <= 0) {
    throw new LoadSettingsError(`RATE_SCALE=${values.RATE_SCALE}: expected a positive number`);
  }
  const baseUrl = (values.BASE_URL || DEFAULT_SETTINGS.baseUrl).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+/.test(baseUrl))
    throw new LoadSettingsError(`BASE_URL=${baseUrl}: expected http(s)://host[:port]`);
  const token = values.WARREN_TOKEN || undefined;
  if (token !== undefined && !/^[\w.~+/-]+=*$/.test(token)) {
    // Never echoed: it is a credential.
    throw new LoadSettingsError('WARREN_TOKEN: expected a bearer token (RFC 6750 token68 characters)');
  }
  return { baseUrl, profile, rateScale, token };
}

/** The scenario with its rates scaled; at least one iteration per time unit where a rate is meant. */
export function scaleScenario(scenario: ScenarioDefinition, rateScale: number): ScenarioDefinition {
  const scale = (rate: number) => (rate === 0 ? 0 : Math.max(1, Math.round(rate * rateScale)));
  if (scenario.executor === 'constant-arrival-rate') return { ...scenario, rate: scale(scenario.rate) };
  return {
    ...scenario,
    ...(scenario.startRate === undefined ? {} : { startRate: scale(scenario.startRate) }),
    stages: scenario.stages.map((stage) => ({ ...stage, target: scale(stage.target) })),
  };
}

/** A k6 scenario: the executor's settings, the function it runs, its tags. */
export type K6Scenario = DistributiveOmit<ScenarioDefinition, 'flow'> & { exec: string; tags: Record<string, string> };
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** What k6's `options` get (assignable to @types/k6's Options: the k6 tsconfig checks it). */
export interface K6OptionsShape {
  scenarios: Record<string, K6Scenario>;
  thresholds: Record<string, ThresholdDefinition[]>;
  summaryTrendStats: string[];
}

/** The trend statistics the summaries show (and the JSON summary holds). */
export const SUMMARY_TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'];

/** k6 `options` for the settings' profile. */
export function k6Options(data: ScenarioData, settings: LoadSettings): K6OptionsShape {
  const profile = data.profiles[settings.profile]!;
  const scenarios: K6OptionsShape['scenarios'] = {};
  for (const [name, definition] of Object.entries(profile.scenarios)) {
    const { flow, ...executor } = scaleScenario(definition, settings.rateScale);
    // The entry script exports one function per flow, and `mix`, under the flow's name.
    scenarios[name] = { ...executor, exec: flow, tags: { flow } } as K6Scenario;
  }
  return { scenarios, thresholds: profile.thresholds, summaryTrendStats: SUMMARY_TREND_STATS };
}
