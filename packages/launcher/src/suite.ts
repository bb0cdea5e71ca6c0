import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

export type ServiceName = 'users' | 'orders' | 'gateway';

/** Where the services are built; the launcher runs their compiled `dist/main.js`. */
export const REPOSITORY_ROOT = resolve(__dirname, '../../..');

export interface SuiteOptions {
  gatewayPort?: number;
  usersOpsPort?: number;
  ordersOpsPort?: number;
  /** Extra environment for every service, or per service. */
  environment?: Record<string, string>;
  serviceEnvironment?: Partial<Record<ServiceName, Record<string, string>>>;
  /** Where service output goes: this process's stdout with a `[name]` prefix, a file, or nowhere. */
  output?: { kind: 'prefixed' } | { kind: 'file'; path: string } | { kind: 'silent' };
  readyTimeoutMs?: number;
}

export interface RunningService {
  name: ServiceName;
  process: ChildProcess;
  /** Base URL of the HTTP port that serves /healthz, /readyz and /metrics. */
  opsUrl: string;
}

const SERVICE_ORDER: ServiceName[] = ['users', 'orders', 'gateway'];

/** The three services as child processes; `stop()` ends them with SIGTERM, as an orchestrator would. */
export class Suite {
  readonly gatewayUrl: string;
  private readonly services = new Map<ServiceName, RunningService>();
  private readonly ports: Record<ServiceName, number>;
  private readonly log: WriteStream | null;
  private stopping = false;

  constructor(private readonly options: SuiteOptions = {}) {
    this.ports = {
      gateway: options.gatewayPort ?? 8080,
      users: options.usersOpsPort ?? 9101,
      orders: options.ordersOpsPort ?? 9102,
    };
    this.gatewayUrl = `http://127.0.0.1:${this.ports.gateway}`;
    const output = options.output ?? { kind: 'prefixed' };
    this.log = output.kind === 'file' ? createWriteStream(output.path, { flags: 'a' }) : null;
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
    await Promise.all(SERVICE_ORDER.map((name) => this.waitUntilReady(name)));
  }

  /** Starts one service (again) and waits for it to be ready. */
  async restart(name: ServiceName): Promise<void> {
    this.startService(name);
    await this.waitUntilReady(name);
  }

  /** Sends a signal to one service and waits for it to exit; returns its exit code or signal. */
  async kill(name: ServiceName, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | string | null> {
    const service = this.service(name);
    this.services.delete(name);
    if (service.process.exitCode !== null || service.process.signalCode !== null) {
      return service.process.exitCode ?? service.process.signalCode;
    }
    const exited = once(service.process, 'exit');
    service.process.kill(signal);
    const [code, exitSignal] = (await exited) as [number | null, string | null];
    return code ?? exitSignal;
  }

  /** Stops every service with SIGTERM (gateway first), waiting for each to exit. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const name of [...SERVICE_ORDER].reverse()) {
      if (this.services.has(name)) await this.kill(name, 'SIGTERM');
    }
    this.log?.end();
  }

  private environmentFor(name: ServiceName): NodeJS.ProcessEnv {
    const port = String(this.ports[name]);
    return {
      ...process.env,
      NODE_ENV: process.env.NODE_ENV ?? 'development',
      ...(name === 'gateway' ? { PORT: port } : { OPS_PORT: port }),
      ...this.options.environment,
      ...this.options.serviceEnvironment?.[name],
    };
  }

  private startService(name: ServiceName): void {
    const child = spawn(process.execPath, [resolve(REPOSITORY_ROOT, 'services', name, 'dist', 'main.js')], {
      cwd: resolve(REPOSITORY_ROOT, 'services', name),
      env: this.environmentFor(name),
      stdio: ['ignore', 'pipe', 'pipe'],
      // A process group of its own: a terminal's Ctrl-C reaches only the launcher, which stops services in order.
      detached: true,
    });
    this.pipeOutput(name, child);
    child.on('exit', (code, signal) => {
      if (!this.stopping && this.services.get(name)?.process === child) {
        this.write(name, `exited unexpectedly (code ${code}, signal ${signal})`);
      }
    });
    this.services.set(name, { name, process: child, opsUrl: this.opsUrl(name) });
  }

  private pipeOutput(name: ServiceName, child: ChildProcess): void {
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => this.write(name, line));
    }
  }

  private write(name: ServiceName, line: string): void {
    const output = this.options.output ?? { kind: 'prefixed' };
    if (output.kind === 'prefixed') process.stdout.write(`[${name.padEnd(7)}] ${line}\n`);
    else if (this.log) this.log.write(`[${name}] ${line}\n`);
  }

  private async waitUntilReady(name: ServiceName): Promise<void> {
    const timeoutMs = this.options.readyTimeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    const url = `${this.opsUrl(name)}/readyz`;
    for (;;) {
      const service = this.services.get(name);
      if (!service || service.process.exitCode !== null) {
        throw new Error(`${name} exited during start-up (code ${service?.process.exitCode ?? 'unknown'})`);
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
