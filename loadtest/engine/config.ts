/**
 * The Node engine's settings, parsed once from its command line:
 *   --profile NAME       a profile of the scenario data (default smoke)
 *   --base-url URL       the gateway, http only (default http://127.0.0.1:3000)
 *   --rate-scale X       multiplies every rate (default 1)
 *   --scenario A,B       only these scenarios of the profile (default all), like k6's --scenario
 *   --data FILE          the scenario data (default loadtest/data/scenarios.json)
 *   --summary-json FILE  where the JSON summary goes (default summary-<profile>.json)
 *   --run-id ID          in every email and Idempotency-Key (default the start time, base 36)
 * and WARREN_TOKEN in the environment: a bearer token sent with every request (default none).
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDuration } from '../lib/duration.ts';
import {
  LoadSettingsError,
  parseSettings,
  scaleScenario,
  type LoadSettings,
  type Profile,
  type ScenarioData,
} from '../lib/profiles.ts';

export interface EngineConfig extends LoadSettings {
  data: ScenarioData;
  /** The profile, narrowed to the scenarios asked for, its rates scaled by rateScale. */
  selected: Profile;
  summaryJsonPath: string;
  runId: string;
}

/** The package's own folder, from its compiled (dist/engine) or source (engine) location. */
const PACKAGE_ROOT = basename(dirname(__dirname)) === 'dist' ? join(__dirname, '../..') : join(__dirname, '..');
export const DEFAULT_DATA_PATH = join(PACKAGE_ROOT, 'data/scenarios.json');

export function parseEngineConfig(argv: readonly string[]): EngineConfig {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      profile: { type: 'string' },
      'base-url': { type: 'string' },
      'rate-scale': { type: 'string' },
      scenario: { type: 'string' },
      data: { type: 'string' },
      'summary-json': { type: 'string' },
      'run-id': { type: 'string' },
    },
    strict: true,
  });
  const data = JSON.parse(readFileSync(values.data ?? DEFAULT_DATA_PATH, 'utf8')) as ScenarioData;
  const settings = parseSettings(
    {
      BASE_URL: values['base-url'],
      PROFILE: values.profile,
      RATE_SCALE: values['rate-scale'],
      // From the environment, not a flag: a credential stays off the command line.
      WARREN_TOKEN: process.env.WARREN_TOKEN,
    },
    data,
  );
  if (!settings.baseUrl.startsWith('http://')) {
    throw new LoadSettingsError(`--base-url ${settings.baseUrl}: the Node engine speaks plain HTTP only`);
  }
  const profile = data.profiles[settings.profile]!;
  const wanted = values.scenario?.split(',').map((name) => name.trim());
  const unknown = (wanted ?? []).filter((name) => !Object.hasOwn(profile.scenarios, name));
  if (unknown.length > 0) {
    throw new LoadSettingsError(
      `--scenario ${unknown.join(',')}: profile ${settings.profile} has ${Object.keys(profile.scenarios).join(', ')}`,
    );
  }
  const scenarios = Object.fromEntries(
    Object.entries(profile.scenarios)
      .filter(([name]) => wanted === undefined || wanted.includes(name))
      .map(([name, scenario]) => [name, scaleScenario(scenario, settings.rateScale)]),
  );
  // Every duration read now, so a typo fails at the start (104), not after a 30-minute soak.
  for (const scenario of Object.values(scenarios)) {
    const { timeUnit, startTime, gracefulStop } = scenario;
    for (const text of [timeUnit, startTime, gracefulStop]) if (text !== undefined) parseDuration(text);
    if (scenario.executor === 'constant-arrival-rate') parseDuration(scenario.duration);
    else for (const stage of scenario.stages) parseDuration(stage.duration);
  }
  return {
    ...settings,
    data,
    selected: { ...profile, scenarios },
    summaryJsonPath: values['summary-json'] ?? `summary-${settings.profile}.json`,
    runId: values['run-id'] ?? Date.now().toString(36),
  };
}
