import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { startJaeger, type RunningJaeger } from './jaeger';
import { startLocalIssuer, type LocalIssuer } from './local-issuer';
import { startPrometheus, type RunningPrometheus } from './prometheus';
import { REPOSITORY_ROOT, Suite, type SuiteAuthentication } from './suite';

// `npm start [-- --observability]`: migrate, start the three services, wait until each is ready, print where
// to go. With --observability, also Jaeger (OTLP on 4318, query API on 16686) and Prometheus (9090) with the
// alert rules. Ctrl-C (or SIGTERM) stops everything cleanly.
// The API needs bearer tokens: a local issuer (loopback only) signs them, and a token for each role is printed.
// AUTH_ISSUER (an OpenID provider of your own) or AUTH_DISABLED=true in the environment replaces it.

const JAEGER_OTLP_HTTP_PORT = 4318;
const JAEGER_QUERY_PORT = 16686;
const PROMETHEUS_PORT = 9090;

const ARROW = process.stdout.isTTY ? '\x1b[1m==>\x1b[0m' : '==>';

function step(message: string): void {
  process.stdout.write(`${ARROW} ${message}\n`);
}

interface ObservabilityStack {
  jaeger: RunningJaeger;
  prometheus: RunningPrometheus;
}

async function startObservability(gatewayPort: number): Promise<ObservabilityStack> {
  step('building Jaeger and installing Prometheus if missing');
  execFileSync(resolve(REPOSITORY_ROOT, 'scripts/tools.sh'), ['jaeger', 'prometheus'], { stdio: 'inherit' });
  step('starting Jaeger and Prometheus');
  const jaeger = await startJaeger({ otlpHttpPort: JAEGER_OTLP_HTTP_PORT, queryPort: JAEGER_QUERY_PORT });
  const prometheus = await startPrometheus({ port: PROMETHEUS_PORT, targets: { gateway: gatewayPort } });
  return { jaeger, prometheus };
}

/** Who the printed tokens are for: an operator, and two users who each see only their own data. */
const ROLES = [
  { name: 'admin', subject: 'admin', scopes: ['admin'] },
  { name: 'alice', subject: 'alice', scopes: ['users:read', 'users:write', 'orders:read', 'orders:write'] },
  { name: 'bob', subject: 'bob', scopes: ['users:read', 'users:write', 'orders:read', 'orders:write'] },
] as const;
/** Long enough for a working day; the issuer's key lives only as long as `npm start`. */
const TOKEN_LIFETIME_SECONDS = 12 * 3600;

/** The gateway's authentication, and the local issuer when it is the one. */
async function chooseAuthentication(): Promise<{ authentication: SuiteAuthentication; issuer?: LocalIssuer }> {
  if (process.env.AUTH_DISABLED === 'true') return { authentication: 'disabled' };
  if (process.env.AUTH_ISSUER) {
    return {
      authentication: {
        issuer: process.env.AUTH_ISSUER,
        audience: process.env.AUTH_AUDIENCE ?? 'warren',
        ...(process.env.AUTH_JWKS_URL ? { jwksUrl: process.env.AUTH_JWKS_URL } : {}),
      },
    };
  }
  const issuer = await startLocalIssuer();
  return { authentication: { issuer: issuer.issuer, audience: issuer.audience, jwksUrl: issuer.jwksUrl }, issuer };
}

async function printTokens(issuer: LocalIssuer): Promise<string[]> {
  const lines = [
    `    Tokens (local issuer ${issuer.issuer}, valid ${TOKEN_LIFETIME_SECONDS / 3600} h; copy a line into your shell):`,
  ];
  for (const role of ROLES) {
    const token = await issuer.mint({
      subject: role.subject,
      scopes: role.scopes,
      expiresInSeconds: TOKEN_LIFETIME_SECONDS,
    });
    lines.push(`      export WARREN_TOKEN_${role.name.toUpperCase()}=${token}   # ${role.scopes.join(' ')}`);
  }
  return lines;
}

async function main(): Promise<void> {
  const withObservability = process.argv.includes('--observability');
  const gatewayPort = Number(process.env.PORT ?? 8080);
  const observability = withObservability ? await startObservability(gatewayPort) : undefined;
  // Without a collector the services keep their instrumentation but export nothing.
  const tracing: Record<string, string> = observability
    ? {
        OTEL_EXPORTER_OTLP_ENDPOINT: observability.jaeger.otlpHttpEndpoint,
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=local',
      }
    : { OTEL_TRACES_EXPORTER: process.env.OTEL_TRACES_EXPORTER ?? 'none' };

  for (const worker of ['users', 'orders']) {
    step(`migrating the ${worker} database`);
    execFileSync(process.execPath, [resolve(REPOSITORY_ROOT, 'services', worker, 'dist', 'migrate.js')], {
      stdio: 'inherit',
      env: { ...process.env, LOG_PRETTY: process.env.LOG_PRETTY ?? String(process.stdout.isTTY === true) },
    });
  }

  const { authentication, issuer } = await chooseAuthentication();
  const suite = new Suite({
    authentication,
    gatewayPort,
    environment: {
      MIGRATE_ON_START: 'false',
      LOG_PRETTY: process.env.LOG_PRETTY ?? String(process.stdout.isTTY === true),
      ...tracing,
    },
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    step(`${signal}: stopping the services`);
    await suite.stop();
    await observability?.jaeger.stop();
    await observability?.prometheus.stop();
    await issuer?.close();
    step('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  step('starting users, orders and gateway');
  try {
    await suite.start();
  } catch (error) {
    process.stderr.write(`start failed: ${(error as Error).message}\n`);
    await suite.stop();
    await observability?.jaeger.stop();
    await observability?.prometheus.stop();
    await issuer?.close();
    process.exit(1);
  }

  const api = suite.gatewayUrl;
  const tokens = issuer
    ? await printTokens(issuer)
    : [
        authentication === 'disabled'
          ? '    API open: AUTH_DISABLED=true'
          : `    Tokens: from ${process.env.AUTH_ISSUER}`,
      ];
  const bearer = issuer ? ` -H "Authorization: Bearer $WARREN_TOKEN_ALICE"` : '';
  step('Warren is up:');
  process.stdout.write(
    [
      `    API             ${api}/v1/users`,
      `    API docs        ${api}/docs   (OpenAPI: ${api}/openapi.json)`,
      `    gateway metrics ${api}/metrics`,
      `    users worker    ${suite.opsUrl('users')}/readyz  ${suite.opsUrl('users')}/metrics`,
      `    orders worker   ${suite.opsUrl('orders')}/readyz  ${suite.opsUrl('orders')}/metrics`,
      `    RabbitMQ        http://127.0.0.1:15672  (warren / warren)`,
      ...tokens,
      `    try: curl -s -X POST ${api}/v1/users${bearer} -H 'content-type: application/json' -d '{"name":"Alice","email":"alice@example.com"}'`,
      ...(observability
        ? [
            `    Jaeger          ${observability.jaeger.queryUrl}/api/traces?service=gateway  (query API; this build has no UI)`,
            `    Prometheus      ${observability.prometheus.url}  (alerts: ${observability.prometheus.url}/alerts)`,
            '    Grafana         not bundled: import charts/warren/files/dashboards/*.json (see the README, Observability)',
          ]
        : ['    (npm start -- --observability adds Jaeger and Prometheus)']),
      '    Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
}

void main();
