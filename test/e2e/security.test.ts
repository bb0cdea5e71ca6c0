import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { REPOSITORY_ROOT } from '@warren/launcher';
import { Client } from 'pg';
import { ADMIN_DATABASE_URL, authorizationHeader, e2eCredentials, LOCAL_ADMIN } from './support/e2e-secrets';
import { api } from './support/http';
import { startRunningSuite } from './support/running-suite';
import { scanForSecrets, secretForms } from './support/secret-scan';

// The HTTP edge's security headers, the rate limit as a client meets it, and the handling of secrets: the services
// run with this run's own passwords (so the end-of-run log grep in support/global-teardown.ts means something),
// never log an Authorization header, and hold no password in their source beyond the local development default.

jest.setTimeout(90_000);

describe('security of the running suite', () => {
  let running: Awaited<ReturnType<typeof startRunningSuite>>;

  beforeAll(async () => {
    running = await startRunningSuite();
  });
  afterAll(async () => {
    await running?.stop();
  });

  describe('helmet headers', () => {
    const PATHS: [string, number][] = [
      ['/v1/users?limit=1', 200],
      ['/v1/users/not-a-uuid', 400],
      ['/v1/nothing-here', 404],
      ['/openapi.json', 200],
      ['/docs', 200],
      ['/healthz', 200],
    ];

    it.each(PATHS)('on %s (%i): CSP, nosniff, frame options, HSTS, no X-Powered-By', async (path, status) => {
      const response = await api(running.baseUrl, 'GET', path);
      expect(response.status).toBe(status);
      const header = (name: string) => response.headers.get(name);
      const csp = Object.fromEntries(
        (header('content-security-policy') ?? '')
          .split(';')
          .map((directive) => directive.trim().split(/\s+/))
          .map(([name, ...values]) => [name, values]),
      );
      expect(csp['default-src']).toEqual(["'self'"]);
      expect(csp['script-src']).toEqual(["'self'"]); // no inline script, no eval
      expect(csp['script-src-attr']).toEqual(["'none'"]);
      expect(csp['object-src']).toEqual(["'none'"]);
      expect(csp['base-uri']).toEqual(["'self'"]);
      expect(csp['frame-ancestors']).toEqual(["'self'"]);
      expect(csp['form-action']).toEqual(["'self'"]);
      expect(header('x-content-type-options')).toBe('nosniff');
      expect(header('x-frame-options')).toBe('SAMEORIGIN');
      expect(header('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
      expect(header('referrer-policy')).toBe('no-referrer');
      expect(header('cross-origin-opener-policy')).toBe('same-origin');
      expect(header('cross-origin-resource-policy')).toBe('same-origin');
      expect(header('x-xss-protection')).toBe('0');
      expect(header('x-powered-by')).toBeNull();
    });

    it('answers no cross-origin request: CORS is off unless CORS_ORIGINS names origins', async () => {
      const preflight = await fetch(`${running.baseUrl}/v1/users`, {
        method: 'OPTIONS',
        headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
      });
      expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
      const simple = await api(running.baseUrl, 'GET', '/v1/users?limit=1', {
        headers: { origin: 'https://evil.example' },
      });
      expect(simple.headers.get('access-control-allow-origin')).toBeNull();
      expect(simple.headers.get('access-control-allow-credentials')).toBeNull();
    });
  });

  describe('secrets', () => {
    const credentials = e2eCredentials();

    it('runs the services with this run’s own broker and database passwords, not the defaults', async () => {
      if (!credentials) throw new Error('the e2e globalSetup did not run (test/e2e/support/global-setup.ts)');
      expect(running.amqpUrl).toContain(`${credentials.amqp.user}:${credentials.amqp.password}@`);
      const vhost = decodeURIComponent(new URL(running.amqpUrl).pathname.slice(1));
      const listConnections = async () => {
        const response = await fetch(`http://127.0.0.1:15672/api/vhosts/${encodeURIComponent(vhost)}/connections`, {
          headers: {
            authorization: `Basic ${Buffer.from(`${LOCAL_ADMIN.user}:${LOCAL_ADMIN.password}`).toString('base64')}`,
          },
          signal: AbortSignal.timeout(10_000),
        });
        return (await response.json()) as { user: string }[];
      };
      // The gateway's client and both workers' servers (and the orders worker's client). The management API lists
      // connections from its statistics, refreshed every few seconds: a busy broker shows new ones late.
      let connections = await listConnections();
      for (const deadline = Date.now() + 30_000; connections.length < 3 && Date.now() < deadline;) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        connections = await listConnections();
      }
      expect(connections.length).toBeGreaterThanOrEqual(3);
      expect(new Set(connections.map((connection) => connection.user))).toEqual(new Set([credentials.amqp.user]));

      const client = new Client({ connectionString: ADMIN_DATABASE_URL, connectionTimeoutMillis: 5000 });
      await client.connect();
      try {
        const { rows } = await client.query<{ datname: string }>(
          'select distinct datname from pg_stat_activity where usename = $1 order by datname',
          [credentials.pg.user],
        );
        expect(rows.map((row) => row.datname)).toEqual(['warren_orders', 'warren_users']);
      } finally {
        await client.end();
      }
    });

    it('logs a request’s Authorization and Cookie headers as *** only', async () => {
      if (!credentials) throw new Error('the e2e globalSetup did not run (test/e2e/support/global-setup.ts)');
      const requestId = `auth-redaction-${randomUUID()}`;
      const response = await api(running.baseUrl, 'GET', '/v1/users?limit=1', {
        headers: {
          ...authorizationHeader(),
          cookie: `session=${credentials.authToken}`,
          'proxy-authorization': `Basic ${Buffer.from(`u:${credentials.authToken}`).toString('base64')}`,
          'x-request-id': requestId,
        },
      });
      expect(response.status).toBe(200);
      const deadline = Date.now() + 10_000;
      let line: Record<string, any> | undefined;
      while (!line && Date.now() < deadline) {
        line = readFileSync(running.logPath, 'utf8')
          .split('\n')
          .filter((text) => text.includes(requestId) && text.includes('request completed'))
          .map((text) => JSON.parse(text.replace(/^\[\w+\] /, '')) as Record<string, any>)[0];
        if (!line) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(line?.req.headers).toMatchObject({
        authorization: '***',
        cookie: '***',
        'proxy-authorization': '***',
      });
      // And the token is nowhere in this suite's log (the end-of-run grep checks every log of the run).
      const dir = mkdtempSync(join(tmpdir(), 'warren-scan-'));
      try {
        writeFileSync(join(dir, 'suite.log'), readFileSync(running.logPath));
        expect(scanForSecrets(dir, secretForms({ name: 'token', value: credentials.authToken }))).toEqual([]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('the log grep finds a secret in each form it can take on a log line', () => {
      const dir = mkdtempSync(join(tmpdir(), 'warren-scan-'));
      try {
        const value = 'c0ffee' + randomUUID().replace(/-/g, '');
        writeFileSync(join(dir, 'a.log'), `clean line\n{"url":"postgres://u:${value}@db/x"}\n`);
        writeFileSync(join(dir, 'b.log'), `{"auth":"Basic ${Buffer.from(`u:${value}`).toString('base64')}"}\n`);
        writeFileSync(join(dir, 'c.log'), `{"encoded":"${Buffer.from(value).toString('base64')}"}\n`);
        const hits = scanForSecrets(dir, secretForms({ name: 'pw', value }, 'u'));
        expect(hits).toEqual([
          { file: 'a.log', line: 2, secret: 'pw' },
          { file: 'b.log', line: 1, secret: 'pw (Basic credential)' },
          { file: 'c.log', line: 1, secret: 'pw (base64)' },
        ]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('keeps credentials out of service source: only config modules hold the local development default', () => {
      const sourceFiles = (directory: string): string[] =>
        readdirSync(directory).flatMap((name) => {
          const path = join(directory, name);
          if (statSync(path).isDirectory()) return sourceFiles(path);
          return /\.ts$/.test(name) && !/\.test\.ts$/.test(name) ? [path] : [];
        });
      const roots = ['packages', 'services'].flatMap((top) =>
        readdirSync(join(REPOSITORY_ROOT, top))
          .map((name) => join(REPOSITORY_ROOT, top, name, 'src'))
          .filter((path) => statSync(path, { throwIfNoEntry: false })?.isDirectory()),
      );
      const files = roots.flatMap(sourceFiles);
      expect(files.length).toBeGreaterThan(50);

      const findings: string[] = [];
      const credentialInUrl = /[a-z][a-z0-9+.-]*:\/\/([^:/@\s'"`]+):([^@\s'"`]+)@/gi;
      const assignedSecret = /\b(?:password|passwd|secret|token|api_?key)['"]?\s*[:=]\s*(['"`])([^'"`]+)\1/gi;
      for (const file of files) {
        const where = relative(REPOSITORY_ROOT, file);
        const isConfigModule = /config\.ts$/.test(basename(file));
        readFileSync(file, 'utf8')
          .split('\n')
          .forEach((text, index) => {
            for (const match of text.matchAll(credentialInUrl)) {
              const password = match[2] ?? '';
              const localDefault = isConfigModule && password === LOCAL_ADMIN.password;
              const placeholder = password === 'password' && /^\s*(\*|\/\/|\/\*)/.test(text);
              if (!localDefault && !placeholder && !password.startsWith('$')) {
                findings.push(`${where}:${index + 1}: credentials in a URL`);
              }
            }
            for (const match of text.matchAll(assignedSecret)) {
              if (!(isConfigModule && match[2] === LOCAL_ADMIN.password)) {
                findings.push(`${where}:${index + 1}: a secret assigned a literal`);
              }
            }
          });
      }
      expect(findings).toEqual([]);
    });
  });
});

describe('rate limiting over HTTP', () => {
  const LIMIT = 5;
  let running: Awaited<ReturnType<typeof startRunningSuite>>;

  beforeAll(async () => {
    running = await startRunningSuite({ RATE_LIMIT_PER_MINUTE: String(LIMIT), RATE_LIMIT_WINDOW_MS: '60000' });
  });
  afterAll(async () => {
    await running?.stop();
  });

  it(`answers the request past ${LIMIT} a minute with 429, RateLimit headers and Retry-After`, async () => {
    const remaining: number[] = [];
    for (let index = 0; index < LIMIT; index++) {
      const response = await api(running.baseUrl, 'GET', '/v1/users?limit=1');
      expect(response.status).toBe(200);
      expect(response.headers.get('ratelimit-policy')).toMatch(new RegExp(`^"${LIMIT}-in-1min"; q=${LIMIT}; w=60`));
      remaining.push(Number(/; r=(\d+)/.exec(response.headers.get('ratelimit') ?? '')?.[1]));
    }
    expect(remaining).toEqual([4, 3, 2, 1, 0]);

    const limited = await api(running.baseUrl, 'POST', '/v1/users', { body: { name: 'Too Many', email: 'x@y.zz' } });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('content-type')).toContain('application/problem+json');
    expect(limited.body).toMatchObject({ status: 429, title: expect.any(String), requestId: expect.any(String) });
    const retryAfter = limited.headers.get('retry-after') ?? '';
    expect(retryAfter).toMatch(/^\d+$/);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(retryAfter)).toBeLessThanOrEqual(60);
    expect(limited.headers.get('ratelimit')).toMatch(new RegExp(`^"${LIMIT}-in-1min"; r=0; t=\\d+`));
    expect(limited.headers.get('ratelimit-policy')).toMatch(new RegExp(`^"${LIMIT}-in-1min"; q=${LIMIT}; w=60`));
    expect(limited.headers.get('x-content-type-options')).toBe('nosniff');

    // A forged X-Forwarded-For is not a new client (TRUST_PROXY is off): still limited.
    for (const forwarded of ['203.0.113.7', '198.51.100.1, 203.0.113.9']) {
      const spoofed = await api(running.baseUrl, 'GET', '/v1/users?limit=1', {
        headers: { 'x-forwarded-for': forwarded, 'x-real-ip': forwarded },
      });
      expect(spoofed.status).toBe(429);
    }
    // Operations endpoints are never limited (probes and scrapes must get through).
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      expect((await api(running.baseUrl, 'GET', path)).status).toBe(200);
    }
  });
});
