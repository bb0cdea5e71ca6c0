import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import {
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { applyRouteQueuePolicy } from '@warren/rpc';
import { connect as amqpConnect } from 'amqplib';
import { freePort, PrivateRedis } from '../../e2e/support/network';

export { freePort, PrivateRedis };

/**
 * Private RabbitMQ, PostgreSQL and Redis servers for fault tests: each on free ports of its own, with its data in a
 * temporary directory, so a test can stop, kill and restart them without touching the shared servers that
 * scripts/services.sh started (and that other tests and benchmarks use at the same time). Everything listens on
 * 127.0.0.1 only.
 */

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const isRoot = () => userInfo().uid === 0;

async function waitFor(
  what: string,
  timeoutMs: number,
  probe: () => Promise<boolean>,
  intervalMs = 200,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await sleep(intervalMs);
  }
  throw new Error(`${what} did not come up within ${timeoutMs} ms`);
}

// ---------------------------------------------------------------- RabbitMQ

const RABBITMQ_BIN = '/usr/lib/rabbitmq/bin';
const AMQP_USER = 'warren';
const AMQP_PASSWORD = 'warren';
const DOCKER = process.env.WARREN_DOCKER ?? 'docker';
/** rabbitmq.conf lines of every fault-test broker, local node or container. */
const PRIVATE_NODE_SETTINGS = [
  // A restart test must not wait for an fsync-heavy disk check or trip the shared disk alarm threshold.
  'disk_free_limit.absolute = 50MB',
  // Queue statistics (the redelivery counts the kill test reads) every second rather than every 5 s.
  'collect_statistics_interval = 1000',
  '',
];
/** The management API of a fault-test broker, signed as the `warren` administrator (the route queue policy). */
function managementUrlOf(port: number): string {
  return `http://${AMQP_USER}:${AMQP_PASSWORD}@127.0.0.1:${port}`;
}
// No scheduler busy-waiting (RabbitMQ's advice for shared hosts): the node shares two cores with the services under
// test, and spinning schedulers would take CPU from them exactly while a fault is measured.
const NO_BUSY_WAIT = '+sbwt none +sbwtdcpu none +sbwtdio none';

/**
 * A RabbitMQ node of its own (`faults-<pid>-<n>@localhost`): its own AMQP, management and distribution ports, its
 * own mnesia, log and configuration files in a temporary directory (the machine's /etc/rabbitmq is not read), and its
 * own Erlang cookie (HOME is the temporary directory, for the node and for rabbitmqctl alike). `stop()` then
 * `start()` restarts it with its data: the `warren` user, durable quorum queues and their persistent messages.
 * It runs as the current user (root works, with HOME set); it registers with the machine's epmd on 4369.
 */
export class PrivateRabbitMQ {
  readonly nodeName: string;
  private readonly directory: string;
  private child: ChildProcess | null = null;
  private initialized = false;

  private constructor(
    readonly amqpPort: number,
    readonly managementPort: number,
    readonly distributionPort: number,
  ) {
    this.nodeName = `faults-${process.pid}-${amqpPort}@localhost`;
    this.directory = mkdtempSync(join(tmpdir(), 'warren-faults-rabbitmq-'));
    for (const sub of ['home', 'mnesia', 'log']) mkdirSync(join(this.directory, sub));
    writeFileSync(
      join(this.directory, 'rabbitmq.conf'),
      [
        `listeners.tcp.default = 127.0.0.1:${amqpPort}`,
        'management.tcp.ip = 127.0.0.1',
        `management.tcp.port = ${managementPort}`,
        ...PRIVATE_NODE_SETTINGS,
      ].join('\n'),
    );
    writeFileSync(join(this.directory, 'enabled_plugins'), '[rabbitmq_management].\n');
    writeFileSync(join(this.directory, 'rabbitmq-env.conf'), '');
  }

  static async create(): Promise<PrivateRabbitMQ> {
    return new PrivateRabbitMQ(await freePort(), await freePort(), await freePort());
  }

  get amqpUrl(): string {
    return `amqp://${AMQP_USER}:${AMQP_PASSWORD}@127.0.0.1:${this.amqpPort}`;
  }

  get managementUrl(): string {
    return `http://127.0.0.1:${this.managementPort}`;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  private get environment(): NodeJS.ProcessEnv {
    const directory = this.directory;
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: join(directory, 'home'),
      LANG: 'C.UTF-8',
      RABBITMQ_NODENAME: this.nodeName,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(this.amqpPort),
      RABBITMQ_DIST_PORT: String(this.distributionPort),
      RABBITMQ_MNESIA_BASE: join(directory, 'mnesia'),
      RABBITMQ_LOG_BASE: join(directory, 'log'),
      RABBITMQ_CONFIG_FILE: join(directory, 'rabbitmq.conf'),
      RABBITMQ_ADVANCED_CONFIG_FILE: join(directory, 'advanced.config'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(directory, 'enabled_plugins'),
      RABBITMQ_CONF_ENV_FILE: join(directory, 'rabbitmq-env.conf'),
      // The distribution listener (rabbitmqctl talks to it) on loopback only, like everything else.
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: `-kernel inet_dist_use_interface {127,0,0,1} ${NO_BUSY_WAIT}`,
    };
  }

  /** rabbitmqctl against this node, bounded in time. */
  async ctl(args: string[], timeoutMs = 30_000): Promise<string> {
    const { stdout } = await run(join(RABBITMQ_BIN, 'rabbitmqctl'), ['-n', this.nodeName, ...args], {
      env: this.environment,
      timeout: timeoutMs,
    });
    return stdout;
  }

  /** Starts the node and waits until it serves AMQP; the first start also creates the `warren` user. */
  async start(timeoutMs = 90_000): Promise<void> {
    if (this.running) return;
    const log = openSync(join(this.directory, 'log', 'startup.log'), 'a');
    this.child = spawn(join(RABBITMQ_BIN, 'rabbitmq-server'), [], {
      env: this.environment,
      cwd: this.directory,
      stdio: ['ignore', log, log],
      detached: true,
    });
    closeSync(log);
    const child = this.child;
    // Polled with an AMQP handshake, not rabbitmqctl: each rabbitmqctl run boots an Erlang VM (about a second of
    // CPU), and polling with it would load the machine during the very outage a fault test measures. Until the
    // listener opens, a probe is a refused TCP connect, so it can run every 50 ms: the moment start() resolves is
    // what the restart scenario measures recovery from.
    await waitFor(
      `rabbitmq node ${this.nodeName}`,
      timeoutMs,
      async () => {
        if (child.exitCode !== null) throw new Error(`rabbitmq-server exited with ${child.exitCode}`);
        return this.answersAmqp();
      },
      50,
    );
    if (!this.initialized) {
      await this.ctl(['add_user', AMQP_USER, AMQP_PASSWORD]).catch((error: Error) => {
        if (!/already exists/.test(error.message)) throw error;
      });
      await this.ctl(['set_user_tags', AMQP_USER, 'administrator']);
      await this.ctl(['set_permissions', '-p', '/', AMQP_USER, '.*', '.*', '.*']);
      await applyRouteQueuePolicy({ url: managementUrlOf(this.managementPort) });
      this.initialized = true;
    }
  }

  /**
   * True once the node answers an AMQP handshake: its listener opens at the end of boot. Before the `warren` user
   * exists (the first start), a refused login is an answer too.
   */
  private async answersAmqp(): Promise<boolean> {
    try {
      return await answersAmqp(this.amqpUrl);
    } catch (error) {
      return !this.initialized && /ACCESS.REFUSED/.test(String((error as Error).message));
    }
  }

  /** A clean stop (`rabbitmqctl stop`): connections are closed by the broker, the data stays. */
  async stop(timeoutMs = 60_000): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = once(child, 'exit');
    await this.ctl(['stop'], timeoutMs).catch(() => child.kill('SIGTERM'));
    const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(killer);
    this.child = null;
  }

  /** Stops the node and deletes its directory. */
  async destroy(): Promise<void> {
    await this.stop().catch(() => undefined);
    rmSync(this.directory, { recursive: true, force: true });
  }

  /** A queue's ready and unacknowledged messages, and how many deliveries were redeliveries (null: no such queue). */
  queueStats(queue: string): Promise<QueueStats | null> {
    return queueStatsOf(this.managementUrl, queue);
  }

  /** Sets the memory high watermark (`rabbitmqctl set_vm_memory_high_watermark`): see `MEMORY_ALARM_WATERMARK`. */
  async setMemoryHighWatermark(fraction: number): Promise<void> {
    await this.ctl(['set_vm_memory_high_watermark', String(fraction)]);
  }
}

/**
 * A memory high watermark every node is above, which raises the memory alarm at once: RabbitMQ then blocks each
 * connection that publishes (connection.blocked), as it does when it runs out of memory. `NORMAL_WATERMARK` clears
 * it (3.10's default; 4.x's is 0.6: either is far above what a test node uses).
 */
export const MEMORY_ALARM_WATERMARK = 0.0001;
export const NORMAL_WATERMARK = 0.4;

/**
 * The RabbitMQ the chart ships (4.x: docker-compose.yml's image, here the stand-in scripts/images.sh builds) in a
 * container of its own, for the fault tests to run on it too (jest project faults-on-rabbitmq4): its AMQP and
 * management ports published on free ports of 127.0.0.1, the `warren` user from RABBITMQ_DEFAULT_USER/PASS.
 * `stop()` (`docker stop`: SIGTERM, RabbitMQ's clean shutdown) then `start()` restarts it with its data, which stays
 * in the container.
 */
export class ContainerRabbitMQ {
  readonly nodeName: string;
  private created = false;
  /** The route queue policy is set once, on the first start: the node keeps it across restarts. */
  private policySet = false;

  private constructor(
    private readonly image: string,
    readonly amqpPort: number,
    readonly managementPort: number,
  ) {
    this.nodeName = `warren-faults-${process.pid}-${amqpPort}`;
  }

  static async create(image: string): Promise<ContainerRabbitMQ> {
    return new ContainerRabbitMQ(image, await freePort(), await freePort());
  }

  get amqpUrl(): string {
    return `amqp://${AMQP_USER}:${AMQP_PASSWORD}@127.0.0.1:${this.amqpPort}`;
  }

  get managementUrl(): string {
    return `http://127.0.0.1:${this.managementPort}`;
  }

  private async docker(args: string[], timeoutMs = 60_000): Promise<string> {
    const { stdout } = await run(DOCKER, args, { timeout: timeoutMs });
    return stdout;
  }

  /** Creates the container on the first start (with the private node's settings), starts it, waits for AMQP. */
  async start(timeoutMs = 90_000): Promise<void> {
    if (!this.created) {
      await this.docker([
        'create',
        '--name',
        this.nodeName,
        '--publish',
        `127.0.0.1:${this.amqpPort}:5672`,
        '--publish',
        `127.0.0.1:${this.managementPort}:15672`,
        '--env',
        `RABBITMQ_DEFAULT_USER=${AMQP_USER}`,
        '--env',
        `RABBITMQ_DEFAULT_PASS=${AMQP_PASSWORD}`,
        '--env',
        `RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=${NO_BUSY_WAIT}`,
        this.image,
      ]);
      this.created = true;
      const configuration = mkdtempSync(join(tmpdir(), 'warren-faults-rabbitmq4-'));
      writeFileSync(join(configuration, '10-faults.conf'), PRIVATE_NODE_SETTINGS.join('\n'));
      await this.docker(['cp', join(configuration, '10-faults.conf'), `${this.nodeName}:/etc/rabbitmq/conf.d/`]);
      rmSync(configuration, { recursive: true, force: true });
    }
    await this.docker(['start', this.nodeName]);
    // The port is published before the node listens: a refused login or a reset connection is "not yet".
    await waitFor(`rabbitmq container ${this.nodeName}`, timeoutMs, () => answersAmqp(this.amqpUrl), 50);
    if (!this.policySet) {
      await applyRouteQueuePolicy({ url: managementUrlOf(this.managementPort) });
      this.policySet = true;
    }
  }

  /** `docker stop`: SIGTERM, which RabbitMQ answers with a clean shutdown, SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 60_000): Promise<void> {
    if (!this.created) return;
    await this.docker(['stop', '--time', String(Math.round(timeoutMs / 1000)), this.nodeName], timeoutMs + 10_000);
  }

  async destroy(): Promise<void> {
    if (this.created) await this.docker(['rm', '--force', '--volumes', this.nodeName]).catch(() => undefined);
    this.created = false;
    this.policySet = false;
  }

  queueStats(queue: string): Promise<QueueStats | null> {
    return queueStatsOf(this.managementUrl, queue);
  }

  async setMemoryHighWatermark(fraction: number): Promise<void> {
    await this.docker(['exec', this.nodeName, 'rabbitmqctl', 'set_vm_memory_high_watermark', String(fraction)]);
  }
}

export type FaultBroker = PrivateRabbitMQ | ContainerRabbitMQ;

interface QueueStats {
  ready: number;
  unacknowledged: number;
  redelivered: number;
}

/** A queue's figures from the management API of the broker at `managementUrl` (vhost /). */
async function queueStatsOf(managementUrl: string, queue: string): Promise<QueueStats | null> {
  const response = await fetch(`${managementUrl}/api/queues/%2F/${encodeURIComponent(queue)}`, {
    headers: { authorization: `Basic ${Buffer.from(`${AMQP_USER}:${AMQP_PASSWORD}`).toString('base64')}` },
    signal: AbortSignal.timeout(5000),
  });
  if (response.status === 404) return null;
  if (!response.ok) throw new Error(`management API: ${response.status}`);
  const body = (await response.json()) as {
    messages_ready?: number;
    messages_unacknowledged?: number;
    message_stats?: { redeliver?: number };
  };
  return {
    ready: body.messages_ready ?? 0,
    unacknowledged: body.messages_unacknowledged ?? 0,
    redelivered: body.message_stats?.redeliver ?? 0,
  };
}

/** True once the broker at `url` completes an AMQP handshake and login. */
async function answersAmqp(url: string): Promise<boolean> {
  const connection = await amqpConnect(url, { timeout: 2000 });
  connection.on('error', () => undefined);
  await connection.close().catch(() => undefined);
  return true;
}

// ---------------------------------------------------------------- PostgreSQL

const POSTGRES_BIN = '/usr/lib/postgresql/15/bin';
const DATABASES = ['warren_users', 'warren_orders'] as const;
export type DatabaseName = (typeof DATABASES)[number];

/**
 * A PostgreSQL cluster of its own: `initdb` into a temporary directory (as the `postgres` user when this runs as
 * root: the server refuses to run as root), listening on 127.0.0.1 and a socket directory of its own, with the
 * `warren` role and the `warren_users` and `warren_orders` databases. `stop()` (fast shutdown: open transactions are
 * aborted, connections closed) and `start()` restart it with its data.
 */
export class PrivatePostgres {
  private readonly directory: string;
  private readonly dataDirectory: string;
  private readonly socketDirectory: string;

  private constructor(readonly port: number) {
    this.directory = mkdtempSync(join(tmpdir(), 'warren-faults-postgres-'));
    this.dataDirectory = join(this.directory, 'data');
    this.socketDirectory = join(this.directory, 'socket');
    mkdirSync(this.socketDirectory);
    if (isRoot()) {
      const { uid, gid } = postgresUser();
      chownSync(this.directory, uid, gid);
      chownSync(this.socketDirectory, uid, gid);
    }
  }

  static async create(): Promise<PrivatePostgres> {
    const postgres = new PrivatePostgres(await freePort());
    try {
      await postgres.initialize();
    } catch (error) {
      await postgres.destroy();
      throw error;
    }
    return postgres;
  }

  urlFor(database: DatabaseName): string {
    return `postgres://warren:warren@127.0.0.1:${this.port}/${database}`;
  }

  private async asOwner(binary: string, args: string[], timeoutMs = 60_000): Promise<string> {
    const program = join(POSTGRES_BIN, binary);
    const [command, commandArgs] = isRoot() ? ['runuser', ['-u', 'postgres', '--', program, ...args]] : [program, args];
    const { stdout } = await run(command, commandArgs, { timeout: timeoutMs, cwd: this.directory });
    return stdout;
  }

  private async initialize(): Promise<void> {
    await this.asOwner('initdb', [
      '-D',
      this.dataDirectory,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--no-sync',
    ]);
    await this.start();
    for (const sql of [
      "CREATE ROLE warren LOGIN PASSWORD 'warren'",
      ...DATABASES.map((database) => `CREATE DATABASE ${database} OWNER warren`),
    ]) {
      await this.asOwner('psql', ['-h', '127.0.0.1', '-p', String(this.port), '-U', 'postgres', '-qc', sql]);
    }
  }

  async start(): Promise<void> {
    const options = [
      `-p ${this.port}`,
      `-k ${this.socketDirectory}`,
      '-c listen_addresses=127.0.0.1',
      // A test database: durability against power loss is not what is being tested, speed is welcome.
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c max_connections=100',
    ].join(' ');
    await this.asOwner('pg_ctl', [
      '-D',
      this.dataDirectory,
      '-o',
      options,
      '-l',
      join(this.directory, 'server.log'),
      '-w',
      '-t',
      '60',
      'start',
    ]);
  }

  /** Fast shutdown: every session is terminated (57P01) and open transactions roll back. */
  async stop(): Promise<void> {
    if (!existsSync(join(this.dataDirectory, 'postmaster.pid'))) return;
    await this.asOwner('pg_ctl', ['-D', this.dataDirectory, '-m', 'fast', '-w', '-t', '60', 'stop']);
  }

  async destroy(): Promise<void> {
    await this.stop().catch(() => undefined);
    rmSync(this.directory, { recursive: true, force: true });
  }
}

function postgresUser(): { uid: number; gid: number } {
  // /etc/passwd: name:x:uid:gid:...
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postgres:'));
  if (!line) throw new Error('no postgres user on this machine (the PostgreSQL server package creates it)');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

// ---------------------------------------------------------------- all three

/** The three private servers a fault test runs the suite against. */
export interface PrivateServices {
  rabbitmq: FaultBroker;
  postgres: PrivatePostgres;
  redis: PrivateRedis;
  destroy(): Promise<void>;
}

/**
 * Starts the three (RabbitMQ and PostgreSQL at once: the node takes a few seconds); on failure stops what started.
 * RabbitMQ is a local node of the machine's rabbitmq-server, or a container of `rabbitmqImage` when given.
 */
export async function startPrivateServices(rabbitmqImage?: string): Promise<PrivateServices> {
  const rabbitmq = rabbitmqImage ? await ContainerRabbitMQ.create(rabbitmqImage) : await PrivateRabbitMQ.create();
  const redis = new PrivateRedis(await freePort());
  let postgres: PrivatePostgres | undefined;
  const destroy = async () => {
    await Promise.all([rabbitmq.destroy(), postgres?.destroy(), redis.stop()]);
  };
  const started = await Promise.allSettled([
    PrivatePostgres.create().then((created) => (postgres = created)),
    rabbitmq.start(),
    redis.start(),
  ]);
  const failure = started.find((outcome) => outcome.status === 'rejected');
  if (failure || !postgres) {
    await destroy();
    throw failure?.reason ?? new Error('private postgres did not start');
  }
  return { rabbitmq, postgres, redis, destroy };
}
