import { Suite } from '@warren/launcher';
import { freePort, PrivateRedis } from './network';
import { PrivateVhost } from './vhost';

/**
 * The three real services on free ports, with a Redis and a RabbitMQ vhost of their own (unless the caller
 * names an AMQP_URL), so no other suite's workers answer their calls; logs go to a file under /tmp
 * (`logPath`, one per jest worker unless given).
 */
export async function startRunningSuite(
  environment: Record<string, string> = {},
  { logPath = `/tmp/warren-e2e-${process.pid}.log` }: { logPath?: string } = {},
) {
  const redis = new PrivateRedis(await freePort());
  await redis.start();
  const vhost = environment.AMQP_URL === undefined ? new PrivateVhost() : undefined;
  await vhost?.create();
  const suite = new Suite({
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
    output: { kind: 'file', path: logPath },
  });
  await suite.start();
  return {
    suite,
    redis,
    baseUrl: suite.gatewayUrl,
    logPath,
    async stop() {
      await suite.stop();
      await redis.stop();
      await vhost?.delete();
    },
  };
}
