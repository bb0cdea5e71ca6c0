/**
 * The k6 scenarios' smoke profile, run by the Node engine (loadtest/engine) against the real suite with
 * authentication on, as a secured deployment runs (an admin's token in WARREN_TOKEN): every threshold must hold. And the thresholds really gate: a threshold on a mistyped route tag fails the run with
 * k6's exit code 99, beside the same threshold spelled right, which passes.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPOSITORY_ROOT, startLocalIssuer, type LocalIssuer } from '@warren/launcher';
import { startRunningSuite } from './support/running-suite';

jest.setTimeout(120_000);

const ENGINE = join(REPOSITORY_ROOT, 'loadtest/dist/engine/main.js');
const say = (text: string) => process.stdout.write(`[loadtest] ${text}\n`);

interface EngineRun {
  code: number;
  stdout: string;
  summary: {
    metrics: Record<string, { values: Record<string, number>; thresholds?: Record<string, { ok: boolean }> }>;
  };
}

/** The engine as `npm run loadtest` runs it; bounded: the smoke profile is 10 s, the whole run at most 60 s. */
function runEngine(args: string[], token?: string): Promise<EngineRun> {
  const folder = mkdtempSync(join(tmpdir(), 'warren-loadtest-'));
  const summaryPath = join(folder, 'summary.json');
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [ENGINE, ...args, '--summary-json', summaryPath],
      { timeout: 60_000, maxBuffer: 16 << 20, env: { ...process.env, WARREN_TOKEN: token ?? '' } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        if (code !== 0 && code !== 99) return reject(new Error(`engine exited ${code}: ${stderr}\n${stdout}`));
        const summary = JSON.parse(readFileSync(summaryPath, 'utf8'));
        rmSync(folder, { recursive: true, force: true });
        resolve({ code, stdout, summary });
      },
    );
  });
}

describe('the load-test scenarios, smoke profile, Node engine, against the real suite', () => {
  let running: Awaited<ReturnType<typeof startRunningSuite>>;
  let issuer: LocalIssuer;
  let adminToken: string;

  beforeAll(async () => {
    issuer = await startLocalIssuer();
    adminToken = await issuer.mint({ subject: 'loadtest', scopes: ['admin'] });
    running = await startRunningSuite(
      {},
      { authentication: { issuer: issuer.issuer, audience: issuer.audience, jwksUrl: issuer.jwksUrl } },
    );
  });
  afterAll(async () => {
    await running?.stop();
    await issuer?.close();
  });

  it('passes every threshold of the smoke profile: all checks, every route seen, p95/p99 bounded', async () => {
    const run = await runEngine(['--profile', 'smoke', '--base-url', running.baseUrl], adminToken);
    say(run.stdout);
    const verdicts = Object.entries(run.summary.metrics).flatMap(([name, metric]) =>
      Object.entries(metric.thresholds ?? {}).map(([expression, { ok }]) => ({
        threshold: `${name}: ${expression}`,
        ok,
      })),
    );
    expect(verdicts.filter((verdict) => !verdict.ok)).toEqual([]);
    expect(verdicts.length).toBeGreaterThan(15);
    expect(run.code).toBe(0);
    expect(run.summary.metrics.http_reqs!.values.count).toBeGreaterThan(50);
    expect(run.summary.metrics.checks!.values.fails).toBe(0);
  });

  it('fails its checks without the token: the gateway answers 401, so the token is what made them pass', async () => {
    const run = await runEngine(['--profile', 'smoke', '--scenario', 'createUser', '--base-url', running.baseUrl]);
    expect(run.code).toBe(99);
    // Every request answered outside 200-399 (k6's http_req_failed), and checks failed.
    expect(run.summary.metrics.http_req_failed!.values.rate).toBe(1);
    expect(run.summary.metrics.checks!.values.fails).toBeGreaterThan(0);
  });

  it('fails with exit code 99 when a threshold names a route tag no request carries', async () => {
    const data = JSON.parse(readFileSync(join(REPOSITORY_ROOT, 'loadtest/data/scenarios.json'), 'utf8'));
    data.profiles.smoke.thresholds = {
      'http_reqs{name:POST /v1/users}': ['count>0'],
      'http_reqs{name:POST /v1/user}': ['count>0'],
    };
    const broken = join(mkdtempSync(join(tmpdir(), 'warren-loadtest-')), 'scenarios.json');
    writeFileSync(broken, JSON.stringify(data));
    const run = await runEngine(
      ['--data', broken, '--profile', 'smoke', '--scenario', 'createUser', '--base-url', running.baseUrl],
      adminToken,
    );
    expect(run.code).toBe(99);
    expect(run.summary.metrics['http_reqs{name:POST /v1/users}']!.thresholds).toEqual({ 'count>0': { ok: true } });
    expect(run.summary.metrics['http_reqs{name:POST /v1/user}']!.thresholds).toEqual({ 'count>0': { ok: false } });
    expect(run.stdout).toContain("✗ http_reqs{name:POST /v1/user}: 'count>0' count=0");
  });
});
