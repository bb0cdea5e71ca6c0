import './telemetry';
import { runWorker } from '@warren/service-kit';
import { shutdownTelemetry } from '@warren/telemetry';
import { loadConfig } from './config';
import { UsersRepository } from './db/users-repository';
import { registerUsersHandlers } from './handlers/users-handlers';

runWorker({
  service: 'users',
  loadConfig,
  register: ({ server, pool, config }) =>
    registerUsersHandlers(server, { repository: new UsersRepository(pool), concurrency: config.rpcConcurrency }),
  shutdownTelemetry,
});
