import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, createWriteStream, openSync, type WriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

export type ServiceName = 'users' | 'orders' | 'gateway';

/** Where the services are built; the launcher runs their compiled `dist/main.js`. */
export const REPOSITORY_ROOT = resolve(__dirname, '../../..');

/**
 * How the gateway authenticates API requests: with the tokens of an issuer (a LocalIssuer's, or any OpenID
 * provider's), or not at all, said explicitly. No default: the gateway refuses to start without the choice.
 */
export type SuiteAuthentication = { issuer: string; audience: string; jwksUrl?: string } | 'disabled';

export interface SuiteOptions {
  authentication: SuiteAuthentication;
  gatewayPort?: number;
  usersOpsPort?: number;
  ordersOpsPort?: number;
  /** Extra environment for every service, or per service. */
  environment?: Record<string, string>;
  serviceEnvironment?: Partial<Record<ServiceName, Record<string, string>>>;
  /** Options for `node` itself, per service, before the script (e.g. `--cpu-prof`, which NODE_OPTIONS refuses). */
  serviceExecArgv?: Partial<Record<ServiceName, string[]>>;
  /**
   * Where service output goes: this process's stdout with a `[name]` prefix, a file (with the prefix), or
   * nowhere; `direct`: each service writes straight into the file, as it would into a container runtime's
   * log pipe, so none of it passes through this process (benchmarks: the launcher then costs no CPU).
   */
  output?:
    { kind: 'prefixed' } | { kind: 'file'; path: string } | { kind: 'silent' } | { kind: 'direct'; path: string };
  readyTimeoutMs?: number;
}

export interface RunningService {
  name: ServiceName;
  process: ChildProcess;
  /** Base URL of the HTTP port that serves /healthz, /readyz and /metrics (the gateway's: also its API). */
  opsUrl: string;
}

const SERVICE_ORDER: ServiceName[] = ['users', 'orders', 'gateway'];

/** The gateway's AUTH_* variables for a choice of authentication. */
function authenticationEnvironment(authentication: SuiteAuthentication): Record<string, string> {
  if (authentication === 'disabled') return { AUTH_DISABLED: 'true' };
  return {
    AUTH_ISSUER: authentication.issuer,
    AUTH_AUDIENCE: authentication.audience,
    ...(authentication.jwksUrl ? { AUTH_JWKS_URL: authentication.jwksUrl } : {}),
  };
}

/**
 * The three services as child processes; `stop()` ends them with SIGTERM, as an orchestrator would.
 * One instance of each by default; `startReplica` runs more beside it, as a rolling update or a scaled
 * deployment would.
 */
export class Suite {
  readonly gatewayUrl: string;
  private readonly services = new Map<ServiceName, RunningService>();
  private readonly replicas = new Set<RunningService>();
  private replicaCount = 0;
  private readonly ports: Record<ServiceName, number>;
  private readonly log: WriteStream | null;
  /** The file descriptor the services write to with `direct` output. */
  private readonly directFd: number | null;
  private stopping = false;

  constructor(private readonly options: SuiteOptions) {
    this.ports = {
      gateway: options.gatewayPort ?? 8080,
      users: options.usersOpsPort ?? 9101,
      orders: options.ordersOpsPort ?? 9102,
    };
    this.gatewayUrl = `http://127.0.0.1:${this.ports.gateway}`;
    const output = options.output ?? { kind: 'prefixed' };
    this.log = output.kind === 'file' ? createWriteStream(output.path, { flags: 'a' }) : null;
    this.directFd = output.kind === 'direct' ? openSync(output.path, 'a') : null;
  }

  /** Base URL of a service's ops endpoints. */
  opsUrl(name: ServiceName): string {
    return `http://127.0.0.1:${this.ports[name]}`;
  }

  service(name: ServiceName): RunningService {
    const service = this.services.get(name);
    if (!service) throw new Error(`${name} is not running`);
    return service;
  }

  /** Starts every service and waits until each `/readyz` is green. */
  async start(): Promise<void> {
    for (const name of SERVICE_ORDER) this.startService(name);
    await Promise.all(SERVICE_ORDER.map((name) => this.waitUntilReady(this.service(name))));
  }

  /** Starts one service (again) and waits for it to be ready. */
  async restart(name: ServiceName): Promise<void> {
    this.startService(name);
    await this.waitUntilReady(this.service(name));
  }

  /**
   * Starts one more instance of a service beside the running one and waits for it to be ready. `port` is its
   * own HTTP port (the gateway's PORT, a worker's OPS_PORT). `kill(replica)` ends it alone, `stop()` with the rest.
   */
  async startReplica(name: ServiceName, port: number): Promise<RunningService> {
    const replica = this.spawnService(name, port, `${name}#${++this.replicaCount}`);
    this.replicas.add(replica);
    replica.process.once('exit', () => this.replicas.delete(replica));
    await this.waitUntilReady(replica);
    return replica;
  }

  /** Sends a signal to one service (or replica) and waits for it to exit; returns its exit code or signal. */
  async kill(
    target: ServiceName | RunningService,
    signal: NodeJS.Signals = 'SIGTERM',
  ): Promise<number | string | null> {
    const service = typeof target === 'string' ? this.service(target) : target;
    if (typeof target === 'string') this.services.delete(target);
    this.replicas.delete(service);
    if (service.process.exitCode !== null || service.process.signalCode !== null) {
      return service.process.exitCode ?? service.process.signalCode;
    }
    const exited = once(service.process, 'exit');
    service.process.kill(signal);
    const [code, exitSignal] = (await exited) as [number | null, string | null];
    return code ?? exitSignal;
  }

  /** Stops every service and replica with SIGTERM (gateways first), waiting for each to exit. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const name of [...SERVICE_ORDER].reverse()) {
      for (const replica of [...this.replicas].filter((candidate) => candidate.name === name)) {
        await this.kill(replica, 'SIGTERM');
      }
      if (this.services.has(name)) await this.kill(name, 'SIGTERM');
    }
    this.log?.end();
    if (this.directFd !== null) closeSync(this.directFd);
  }

  private environmentFor(name: ServiceName, port: number): NodeJS.ProcessEnv {
    return {
      ...process.env,
      NODE_ENV: process.env.NODE_ENV ?? 'development',
      ...(name === 'gateway' ? { PORT: String(port), ...authenticationEnvironment(this.options.authentication) } : {}),
      ...(name === 'gateway' ? {} : { OPS_PORT: String(port) }),
      ...this.options.environment,
      ...this.options.serviceEnvironment?.[name],
    };
  }

  private startService(name: ServiceName): void {
    const service = this.spawnService(name, this.ports[name], name);
    service.process.on('exit', (code, signal) => {
      if (!this.stopping && this.services.get(name) === service) {
        this.write(name, `exited unexpectedly (code ${code}, signal ${signal})`);
      }
    });
    this.services.set(name, service);
  }

  private spawnService(name: ServiceName, port: number, label: string): RunningService {
    const script = resolve(REPOSITORY_ROOT, 'services', name, 'dist', 'main.js');
    const child = spawn(process.execPath, [...(this.options.serviceExecArgv?.[name] ?? []), script], {
      cwd: resolve(REPOSITORY_ROOT, 'services', name),
      env: this.environmentFor(name, port),
      stdio: this.directFd === null ? ['ignore', 'pipe', 'pipe'] : ['ignore', this.directFd, this.directFd],
      // A process group of its own: a terminal's Ctrl-C reaches only the launcher, which stops services in order.
      detached: true,
    });
    this.pipeOutput(label, child);
    return { name, process: child, opsUrl: `http://127.0.0.1:${port}` };
  }

  private pipeOutput(label: string, child: ChildProcess): void {
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => this.write(label, line));
    }
  }

  private write(label: string, line: string): void {
    const output = this.options.output ?? { kind: 'prefixed' };
    if (output.kind === 'prefixed') process.stdout.write(`[${label.padEnd(7)}] ${line}\n`);
    else if (this.log) this.log.write(`[${label}] ${line}\n`);
  }

  private async waitUntilReady(service: RunningService): Promise<void> {
    const { name } = service;
    const timeoutMs = this.options.readyTimeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    const url = `${service.opsUrl}/readyz`;
    for (;;) {
      if (service.process.exitCode !== null || service.process.signalCode !== null) {
        const status = service.process.exitCode ?? service.process.signalCode;
        throw new Error(`${name} exited during start-up (${status})`);
      }
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`${name} was not ready within ${timeoutMs} ms (${url})`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
