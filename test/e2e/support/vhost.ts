import { randomBytes } from 'node:crypto';
import { applyRouteQueuePolicy } from '@warren/rpc';
import { e2eCredentials } from './e2e-secrets';

const MANAGEMENT_URL = 'http://127.0.0.1:15672';
const USER = 'warren';
const PASSWORD = 'warren';

/**
 * A RabbitMQ virtual host of this test's own (created through the management API, deleted by `delete()`).
 * Services started with its `amqpUrl` see only each other: no worker of another suite, test or `npm start`
 * on the same broker consumes their calls — which a test that follows one request through the workers
 * (its trace, its log lines) needs.
 */
export class PrivateVhost {
  readonly name = `warren-e2e-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly addedUsers: string[] = [];

  /**
   * What services connect with: in the e2e project, as this run's own user with its random password (see
   * e2e-secrets.ts), so the log grep can find that password; elsewhere as the local administrator.
   */
  get amqpUrl(): string {
    const { user, password } = e2eCredentials()?.amqp ?? { user: USER, password: PASSWORD };
    return `amqp://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:5672/${encodeURIComponent(this.name)}`;
  }

  async create(): Promise<void> {
    await this.management('PUT', `/api/vhosts/${encodeURIComponent(this.name)}`, {});
    const users = new Set([USER, e2eCredentials()?.amqp.user ?? USER]);
    for (const user of users) {
      await this.management('PUT', `/api/permissions/${encodeURIComponent(this.name)}/${encodeURIComponent(user)}`, {
        configure: '.*',
        write: '.*',
        read: '.*',
      });
    }
    // As scripts/test.sh and the chart do for theirs: dead-lettering and the delivery limit of its route queues.
    const management = Object.assign(new URL(MANAGEMENT_URL), { username: USER, password: PASSWORD });
    await applyRouteQueuePolicy({ url: management.href, vhost: this.name });
  }

  /**
   * A broker user of this vhost alone, with the permissions given (regular expressions over resource names, as
   * RabbitMQ has them); deleted with the vhost. Returns its AMQP URL.
   */
  async addUser(permissions: { configure: string; write: string; read: string }): Promise<string> {
    const user = `${this.name}-${randomBytes(3).toString('hex')}`;
    const password = randomBytes(12).toString('hex');
    await this.management('PUT', `/api/users/${encodeURIComponent(user)}`, { password, tags: '' });
    this.addedUsers.push(user);
    await this.management(
      'PUT',
      `/api/permissions/${encodeURIComponent(this.name)}/${encodeURIComponent(user)}`,
      permissions,
    );
    return `amqp://${encodeURIComponent(user)}:${password}@127.0.0.1:5672/${encodeURIComponent(this.name)}`;
  }

  async delete(): Promise<void> {
    await this.management('DELETE', `/api/vhosts/${encodeURIComponent(this.name)}`);
    for (const user of this.addedUsers.splice(0)) {
      await this.management('DELETE', `/api/users/${encodeURIComponent(user)}`);
    }
  }

  private async management(method: string, path: string, body?: unknown): Promise<void> {
    const response = await fetch(`${MANAGEMENT_URL}${path}`, {
      method,
      headers: {
        authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    if (!response.ok && !(method === 'DELETE' && response.status === 404)) {
      throw new Error(`RabbitMQ management ${method} ${path}: ${response.status} ${await response.text()}`);
    }
  }
}
