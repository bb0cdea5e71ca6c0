import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FLOW_NAMES } from './flows.ts';
import { k6Options, LoadSettingsError, parseSettings, scaleScenario, type ScenarioData } from './profiles.ts';
import { createUser, withBearerToken } from './requests.ts';

const data = JSON.parse(readFileSync(join(__dirname, '../data/scenarios.json'), 'utf8')) as ScenarioData;

describe('k6 options from data/scenarios.json', () => {
  it('has the five profiles, each an open model: arrival-rate executors only', () => {
    expect(Object.keys(data.profiles).sort()).toEqual(['load', 'smoke', 'soak', 'spike', 'stress']);
    for (const profile of Object.values(data.profiles)) {
      for (const scenario of Object.values(profile.scenarios)) {
        expect(['constant-arrival-rate', 'ramping-arrival-rate']).toContain(scenario.executor);
        expect(scenario.maxVUs).toBeGreaterThanOrEqual(scenario.preAllocatedVUs);
      }
    }
  });

  it('runs each flow alone and the weighted mix in the smoke profile, aborting on the first failed check', () => {
    const options = k6Options(data, parseSettings({ PROFILE: 'smoke' }, data));
    expect(
      Object.values(options.scenarios)
        .map((scenario) => scenario.exec)
        .sort(),
    ).toEqual([...FLOW_NAMES, 'mix'].sort());
    expect(options.thresholds.checks).toEqual([expect.objectContaining({ threshold: 'rate==1', abortOnFail: true })]);
    expect(options.thresholds.dropped_iterations).toEqual(['count==0']);
    expect(options.summaryTrendStats).toEqual(expect.arrayContaining(['p(95)', 'p(99)']));
  });

  it('scales rates and stage targets by RATE_SCALE, never below one iteration per time unit', () => {
    const settings = parseSettings({ PROFILE: 'stress', RATE_SCALE: '0.5' }, data);
    const mix = k6Options(data, settings).scenarios.mix!;
    expect(mix.executor).toBe('ramping-arrival-rate');
    const original = data.profiles.stress!.scenarios.mix!;
    if (original.executor !== 'ramping-arrival-rate' || mix.executor !== 'ramping-arrival-rate')
      throw new Error('ramping');
    expect(mix.stages.map((stage) => stage.target)).toEqual(
      original.stages.map((stage) => (stage.target === 0 ? 0 : Math.max(1, Math.round(stage.target / 2)))),
    );
    expect(scaleScenario({ ...original, startRate: 1 }, 0.01)).toMatchObject({ startRate: 1 });
  });

  it('refuses an unknown profile, a bad RATE_SCALE or BASE_URL with a message naming it', () => {
    expect(() => parseSettings({ PROFILE: 'smok' }, data)).toThrow(
      new LoadSettingsError('PROFILE=smok: expected one of smoke, load, stress, spike, soak'),
    );
    expect(() => parseSettings({ RATE_SCALE: '-1' }, data)).toThrow('RATE_SCALE=-1');
    expect(() => parseSettings({ BASE_URL: 'localhost:3000' }, data)).toThrow('BASE_URL=localhost:3000');
    expect(parseSettings({ BASE_URL: 'http://127.0.0.1:8080/' }, data).baseUrl).toBe('http://127.0.0.1:8080');
  });

  it('takes a bearer token from WARREN_TOKEN, and refuses one that is not a token without echoing it', () => {
    expect(parseSettings({}, data).token).toBeUndefined();
    expect(parseSettings({ WARREN_TOKEN: '' }, data).token).toBeUndefined();
    expect(parseSettings({ WARREN_TOKEN: 'eyJhbGciOi.eyJzdWIi.c2ln-_' }, data).token).toBe(
      'eyJhbGciOi.eyJzdWIi.c2ln-_',
    );
    let message = '';
    try {
      parseSettings({ WARREN_TOKEN: 'Bearer secret-value' }, data);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^WARREN_TOKEN: expected a bearer token/);
    expect(message).not.toContain('secret-value');
  });

  it('adds the token as an Authorization header to a copy of the request, or leaves the request as it is', () => {
    const request = createUser('run-1');
    expect(withBearerToken(request, undefined)).toBe(request);
    const authorized = withBearerToken(request, 'abc.def.ghi');
    expect(authorized.headers).toEqual({ ...request.headers, authorization: 'Bearer abc.def.ghi' });
    expect(request.headers).not.toHaveProperty('authorization');
  });
});
