import { Suite, type ServiceName, type SuiteAuthentication } from '@warren/launcher';
import { e2eLogPath, WORKER_DATABASES, workerDatabaseUrl } from './e2e-secrets';
import { freePort, PrivateRedis } from './network';
import { PrivateVhost } from './vhost';

/**
 * The three real services on free ports, with a Redis and a RabbitMQ vhost of their own (unless the caller
 * names an AMQP_URL), so no other suite's workers answer their calls; logs go to a file in this run's log
 * directory (`logPath`, one per jest worker unless given; see e2e-secrets.ts). In the e2e project the workers
 * connect to PostgreSQL as this run's own role (unless the caller names a DATABASE_URL), and the vhost's URL
 * carries this run's RabbitMQ user: passwords the end-of-run log grep looks for. The API is open unless
 * `authentication` names an issuer (authorization.test.ts): what the other files test is not who calls.
 */
export async function startRunningSuite(
  environment: Record<string, string> = {},
  {
    logPath = e2eLogPath(String(process.pid)),
    authentication = 'disabled',
    serviceEnvironment = {},
  }: {
    logPath?: string;
    authentication?: SuiteAuthentication;
    /** Per service, over `environment` (broker-users.test.ts: each service its own AMQP_URL). */
    serviceEnvironment?: Partial<Record<ServiceName, Record<string, string>>>;
  } = {},
) {
  const redis = new PrivateRedis(await freePort());
  await redis.start();
  const vhost = environment.AMQP_URL === undefined ? new PrivateVhost() : undefined;
  await vhost?.create();
  const databaseUrl = (worker: keyof typeof WORKER_DATABASES) =>
    environment.DATABASE_URL === undefined ? workerDatabaseUrl(WORKER_DATABASES[worker]) : undefined;
  const usersDatabaseUrl = databaseUrl('users');
  const ordersDatabaseUrl = databaseUrl('orders');
  const suite = new Suite({
    authentication,
    gatewayPort: await freePort(),
    usersOpsPort: await freePort(),
    ordersOpsPort: await freePort(),
    environment: {
      LOG_LEVEL: 'info',
      REDIS_URL: redis.url,
      ...(vhost ? { AMQP_URL: vhost.amqpUrl } : {}),
      MIGRATE_ON_START: 'true',
      // Instrumented, but exporting nowhere unless a test says where (see tracing.test.ts): no collector
      // listens on the default localhost:4318, and each service would spend its shutdown retrying it.
      OTEL_TRACES_EXPORTER: 'none',
      ...environment,
    },
    serviceEnvironment: {
      gateway: { ...serviceEnvironment.gateway },
      users: { ...(usersDatabaseUrl ? { DATABASE_URL: usersDatabaseUrl } : {}), ...serviceEnvironment.users },
      orders: { ...(ordersDatabaseUrl ? { DATABASE_URL: ordersDatabaseUrl } : {}), ...serviceEnvironment.orders },
    },
    output: { kind: 'file', path: logPath },
  });
  await suite.start();
  return {
    suite,
    redis,
    baseUrl: suite.gatewayUrl,
    /** The private vhost, unless the caller named an AMQP_URL. */
    vhost,
    /** The broker URL the services use (the private vhost's, or the caller's AMQP_URL). */
    amqpUrl: environment.AMQP_URL ?? vhost!.amqpUrl,
    logPath,
    async stop() {
      await suite.stop();
      await redis.stop();
      await vhost?.delete();
    },
  };
}
