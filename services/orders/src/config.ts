import { join } from 'node:path';
import { integerVariable, loadWorkerConfig, type WorkerConfig } from '@warren/service-kit';

export interface OrdersConfig extends WorkerConfig {
  /** Cap on the users.get call made while creating an order. */
  rpcTimeoutMs: number;
}

/** The orders worker's configuration; throws a one-line ConfigurationError naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): OrdersConfig {
  const { worker, extra } = loadWorkerConfig(
    { database: 'warren_orders', opsPort: 9102, migrationsDirectory: join(__dirname, '..', 'migrations') },
    { RPC_TIMEOUT_MS: integerVariable(2000, 1, 600_000) },
    env,
  );
  return { ...worker, rpcTimeoutMs: extra.RPC_TIMEOUT_MS };
}
