import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPOSITORY_ROOT, startLocalIssuer, type LocalIssuer } from '@warren/launcher';
import { startRunningSuite } from './support/running-suite';

// schemathesis (PyPI, pinned in scripts/tools.sh) against the real suite's /openapi.json: gateway, RabbitMQ, both
// workers and PostgreSQL. Every phase runs — coverage (boundary and invalid values of every keyword), fuzzing
// (positive and negative data) and stateful sequences that follow the document's OpenAPI links (POST /v1/users →
// GET/PATCH /v1/users/{id}, GET …/orders, POST /v1/orders with that userId → GET/cancel the order…). `--checks all`:
// no 5xx, every status, content type, header and body as documented, schema-invalid requests refused, schema-valid
// ones accepted (relaxed narrowly in schemathesis/schemathesis.toml, where the file says why). Authenticated, as
// shipped: a local issuer's admin token on every request, the document's bearer scheme and 401/403 responses
// checked too (schemathesis's ignored_auth check sends requests without it).

const execFileAsync = promisify(execFile);

const SCHEMATHESIS = join(REPOSITORY_ROOT, '.tools/bin/schemathesis');
const CONFIG = join(__dirname, 'schemathesis', 'schemathesis.toml');
/** Test cases per operation and phase; about 1,600–2,000 requests in all, 30 s or so here. */
const MAX_EXAMPLES = 150;
const MIN_REQUESTS = 1000;
/** The whole schemathesis run is killed past this. */
const HARD_TIMEOUT_MS = 180_000;

jest.setTimeout(HARD_TIMEOUT_MS + 120_000);

interface Report {
  exit_code: number;
  stop_reason: string;
  complete: boolean;
  operations: { total: number; selected: number; tested: number; errored: number; skipped: number };
  phases: Record<string, { status: string; skip_reason: string | null }>;
  test_cases: { generated: number; with_failures: number; unique_failures: number; errored: number };
  failures: { code: string; title: string; count: number; operations: string[] }[];
  errors: unknown[];
}

interface Run {
  code: number | null;
  output: string;
  report: Report;
}

/** Runs schemathesis to completion (or kills it at the hard timeout) and reads its JSON report. */
async function runSchemathesis(args: string[], workDir: string): Promise<Run> {
  const reportDir = join(workDir, 'report');
  const child = spawn(
    SCHEMATHESIS,
    ['--config-file', CONFIG, 'run', ...args, '--report', 'json', '--report-dir', reportDir],
    // Its own directory: nothing (.hypothesis/, .schemathesis/) is written into the repository.
    { cwd: workDir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', PYTHONUNBUFFERED: '1' } },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, HARD_TIMEOUT_MS);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (exitCode) => resolve(exitCode));
  }).finally(() => clearTimeout(timer));
  if (timedOut) throw new Error(`schemathesis still running after ${HARD_TIMEOUT_MS} ms:\n${output.slice(-4000)}`);
  const reports = readdirSync(reportDir).filter((name) => name.endsWith('.json'));
  if (reports.length !== 1) throw new Error(`no JSON report (exit ${code}):\n${output.slice(-4000)}`);
  const report = JSON.parse(readFileSync(join(reportDir, reports[0]!), 'utf8')) as Report;
  return { code, output, report };
}

/** Sum of a Prometheus counter's samples whose labels pass `accept`. */
function sumCounter(metrics: string, name: string, accept: (labels: Record<string, string>) => boolean): number {
  let total = 0;
  for (const match of metrics.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm'))) {
    const labels = Object.fromEntries(
      [...(match[1] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((pair) => [pair[1], pair[2]]),
    );
    if (accept(labels)) total += Number(match[2]);
  }
  return total;
}

describe('schemathesis against the running suite', () => {
  let running: Awaited<ReturnType<typeof startRunningSuite>>;
  let workDir: string;
  let issuer: LocalIssuer;

  beforeAll(async () => {
    // Installed by scripts/test.sh; here too so this file runs alone (a no-op when it is at the pinned version).
    await execFileAsync(join(REPOSITORY_ROOT, 'scripts/tools.sh'), ['schemathesis'], { timeout: 300_000 });
    workDir = mkdtempSync(join(tmpdir(), 'warren-schemathesis-'));
    // Thousands of requests from one address in a minute: the rate limit is raised for this suite alone
    // (security.test.ts checks that it holds at its real setting).
    issuer = await startLocalIssuer();
    running = await startRunningSuite(
      { RATE_LIMIT_PER_MINUTE: '100000000' },
      { authentication: { issuer: issuer.issuer, audience: issuer.audience, jwksUrl: issuer.jwksUrl } },
    );
  }, 360_000);

  afterAll(async () => {
    await running?.stop();
    await issuer?.close();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it(`sends ≥ ${MIN_REQUESTS} generated requests, stateful sequences through the links included, with no failure`, async () => {
    const token = await issuer.mint({ subject: 'schemathesis', scopes: ['admin'], expiresInSeconds: 3600 });
    const headers = ['-H', `Authorization: Bearer ${token}`];
    // The gateway's own counts before the run (its /readyz answered 503 while the suite was starting).
    const gatewayMetrics = async () =>
      (await fetch(`${running.baseUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    const counted = (metrics: string) => ({
      api: sumCounter(metrics, 'http_requests_total', (labels) => labels.route !== '/metrics'),
      serverErrors: sumCounter(metrics, 'http_requests_total', (labels) => /^5/.test(labels.status_code ?? '')),
    });
    const before = counted(await gatewayMetrics());
    const { code, output, report } = await runSchemathesis(
      [
        `${running.baseUrl}/openapi.json`,
        '--checks',
        'all',
        '--max-examples',
        String(MAX_EXAMPLES),
        // Two workers crashed schemathesis here (4.32.5); one is steady.
        '--workers',
        '1',
        '--generation-database',
        'none',
        '--request-timeout',
        '10',
        '--no-color',
        // The Authorization header every request carries: checked below never to reach the log.
        ...headers,
      ],
      workDir,
    );
    // The seed is a 128-bit integer: read as printed (JSON.parse would round it), to replay a failure with --seed.
    const seed = /^Seed: (\d+)/m.exec(output)?.[1] ?? 'unknown';
    const links = /API Links:\s+(\d+) covered \/ (\d+) selected/.exec(output);
    const scenarios = /Scenarios:\s+(\d+)/.exec(output)?.[1];
    const summary =
      `seed ${seed}: ${report.test_cases.generated} test cases generated, ` +
      `${report.test_cases.with_failures} with failures, ${report.failures.length} failure kinds, ` +
      `${report.errors.length} errors; stateful: ${scenarios} scenarios, ${links?.[1]} of ${links?.[2]} links ` +
      'followed; phases ' +
      Object.entries(report.phases)
        .map(([phase, { status }]) => `${phase} ${status}`)
        .join(', ');
    const failureDetail = `${summary}\n${output.slice(-6000)}`;

    // On a failure, schemathesis's own account (each failing case with its curl reproduction) is the message.
    if (code !== 0 || report.failures.length > 0 || report.errors.length > 0) {
      throw new Error(`schemathesis exited ${code}: ${failureDetail}`);
    }
    expect(report.test_cases).toMatchObject({ with_failures: 0, unique_failures: 0, errored: 0 });
    if (report.test_cases.generated < MIN_REQUESTS) throw new Error(`too few test cases: ${failureDetail}`);
    expect(report.operations).toMatchObject({ total: 8, selected: 8, tested: 8, errored: 0, skipped: 0 });
    for (const phase of ['coverage', 'fuzzing', 'stateful']) expect(report.phases[phase]?.status).toBe('success');
    expect(report.complete).toBe(true);
    // The stateful phase followed links: the document's (create → get/update/list/order…) and those from Location.
    expect(Number(links?.[1])).toBeGreaterThanOrEqual(5);

    // What the gateway itself counted during the run: the requests arrived, and none was answered with a 5xx.
    const after = counted(await gatewayMetrics());
    const apiRequests = after.api - before.api;
    expect(apiRequests).toBeGreaterThanOrEqual(MIN_REQUESTS);
    expect(after.serverErrors - before.serverErrors).toBe(0);
    const log = readFileSync(running.logPath, 'utf8');
    expect(log.includes(token) || log.includes(token.split('.')[2]!)).toBe(false);
    process.stdout.write(
      `\n[schemathesis] ${summary}; the gateway counted ${apiRequests} API requests, 0 answered 5xx\n`,
    );
  });
});
