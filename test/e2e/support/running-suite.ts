import { Suite } from '@warren/launcher';
import { freePort, PrivateRedis } from './network';

/** The three real services on free ports, with a Redis of their own; logs go to a file under /tmp. */
export async function startRunningSuite(environment: Record<string, string> = {}) {
  const redis = new PrivateRedis(await freePort());
  await redis.start();
  const suite = new Suite({
    gatewayPort: await freePort(),
    usersOpsPort: await freePort(),
    ordersOpsPort: await freePort(),
    environment: { LOG_LEVEL: 'info', REDIS_URL: redis.url, MIGRATE_ON_START: 'true', ...environment },
    output: { kind: 'file', path: `/tmp/warren-e2e-${process.pid}.log` },
  });
  await suite.start();
  return {
    suite,
    redis,
    baseUrl: suite.gatewayUrl,
    async stop() {
      await suite.stop();
      await redis.stop();
    },
  };
}
