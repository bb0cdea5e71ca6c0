import { describeApiEndToEnd } from './support/api-scenarios';
import { startRunningSuite } from './support/running-suite';

jest.setTimeout(60_000);

describe('the suite end to end: gateway → RabbitMQ → workers → PostgreSQL', () => {
  let running: Awaited<ReturnType<typeof startRunningSuite>>;

  beforeAll(async () => {
    running = await startRunningSuite();
  });
  afterAll(async () => {
    await running?.stop();
  });

  describeApiEndToEnd(() => ({ baseUrl: running.baseUrl, opsUrl: (worker) => running.suite.opsUrl(worker) }));
});
