import './telemetry';
import { runWorker } from '@warren/service-kit';
import { shutdownTelemetry } from '@warren/telemetry';
import { loadConfig } from './config';
import { OrdersRepository } from './db/orders-repository';
import { registerOrdersHandlers } from './handlers/orders-handlers';
import { UsersDirectory } from './users-directory';

runWorker({
  service: 'orders',
  loadConfig,
  register: ({ server, pool, config, logger, rpcClient }) =>
    registerOrdersHandlers(server, {
      repository: new OrdersRepository(pool),
      users: new UsersDirectory({
        client: rpcClient({ defaultTimeoutMs: config.rpcTimeoutMs }),
        timeoutMs: config.rpcTimeoutMs,
      }),
      logger,
      concurrency: config.rpcConcurrency,
    }),
  shutdownTelemetry,
});
