#!/usr/bin/env node
import { applyRouteQueuePolicy, BrokerPolicyError, type RouteQueuePolicy } from '../queue-policy';
import { parseApplyQueuePolicyConfig, USAGE, UsageError, type ApplyQueuePolicyConfig } from './config';

/** Sets the policy, retrying for `waitSeconds` while the management API does not answer or refuses. */
async function apply(config: ApplyQueuePolicyConfig): Promise<RouteQueuePolicy> {
  const waitUntil = Date.now() + config.waitSeconds * 1000;
  for (;;) {
    try {
      return await applyRouteQueuePolicy({ url: config.managementUrl, vhost: config.vhost }, config.settings);
    } catch (error) {
      if (!(error instanceof BrokerPolicyError) || Date.now() >= waitUntil) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

async function main(): Promise<void> {
  const config = parseApplyQueuePolicyConfig(process.argv.slice(2));
  if (!config) {
    process.stdout.write(USAGE);
    return;
  }
  const policy = await apply(config);
  console.log(
    `queue policy ${policy.name} on vhost ${config.vhost}: ${JSON.stringify(policy.definition)} for ${policy.pattern}`,
  );
}

main().catch((error: Error) => {
  console.error(`apply-queue-policy: ${error.message}`);
  if (error instanceof UsageError) {
    process.stderr.write(USAGE);
    process.exit(2);
  }
  process.exit(1);
});
