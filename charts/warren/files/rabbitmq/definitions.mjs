// Writes the in-chart RabbitMQ's definitions (its vhost, its users, their permissions, its policies), which the
// broker imports at every boot (load_definitions). Run by the RabbitMQ pod's init container, because the definitions must hold password
// hashes, not passwords, and a template cannot compute them.
//
//   BROKER_DEFINITIONS: {"vhost": "/", "users": [{"name", "passwordVariable", "tags", "permissions"}], "policies": [...]}
//     permissions: {"configure", "write", "read"}, regular expressions over resource names (RabbitMQ access control)
//     policies: {"name", "pattern", "apply-to", "priority", "definition"}, set on the vhost
//   each user's password: in the variable its passwordVariable names (from the credentials Secret)
//
// Usage: node definitions.mjs <output file>
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';

/**
 * RabbitMQ's default password hash, rabbit_password_hashing_sha256: base64(salt ++ sha256(salt ++ password)) with
 * a 4-byte random salt (https://www.rabbitmq.com/docs/passwords).
 */
export function rabbitPasswordHash(password) {
  const salt = randomBytes(4);
  const digest = createHash('sha256')
    .update(Buffer.concat([salt, Buffer.from(password, 'utf8')]))
    .digest();
  return Buffer.concat([salt, digest]).toString('base64');
}

export function brokerDefinitions(spec, environment) {
  const users = spec.users.map((user) => {
    const password = environment[user.passwordVariable];
    if (!password) throw new Error(`no password in ${user.passwordVariable} for the broker user ${user.name}`);
    return {
      name: user.name,
      password_hash: rabbitPasswordHash(password),
      hashing_algorithm: 'rabbit_password_hashing_sha256',
      tags: user.tags ?? [],
      limits: {},
    };
  });
  const permissions = spec.users.map((user) => ({ user: user.name, vhost: spec.vhost, ...user.permissions }));
  const policies = (spec.policies ?? []).map((policy) => ({ vhost: spec.vhost, ...policy }));
  return { users, vhosts: [{ name: spec.vhost }], permissions, policies };
}

const [output] = process.argv.slice(2);
if (!output) {
  console.error('usage: node definitions.mjs <output file>');
  process.exit(2);
}
const definitions = brokerDefinitions(JSON.parse(process.env.BROKER_DEFINITIONS ?? ''), process.env);
// Hashes only, yet readable by the broker alone.
writeFileSync(output, JSON.stringify(definitions, null, 2), { mode: 0o600 });
console.log(
  `broker definitions: ${definitions.users.map((user) => user.name).join(', ')} on vhost ${definitions.vhosts[0].name}`,
);
