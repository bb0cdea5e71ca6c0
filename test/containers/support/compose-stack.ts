import { execFile, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { REPOSITORY_ROOT } from '@warren/launcher';

const run = promisify(execFile);

/** Any docker CLI will do for what the tests ask (inspect, run); DOCKER=<path> chooses one (scripts/lib/docker.sh reads it too). */
export const DOCKER = process.env.DOCKER ?? 'docker';
/** Docker Compose v2, built by scripts/tools.sh. */
export const COMPOSE = join(REPOSITORY_ROOT, '.tools/bin/docker-compose');
const COMPOSE_FILE = join(REPOSITORY_ROOT, 'docker-compose.yml');

/** Why no engine or no Compose can be used, or undefined when both answer. Synchronous: test lists depend on it. */
export function containerEngineProblem(): string | undefined {
  const firstLine = (result: SpawnSyncReturns<string>) =>
    (result.stderr || result.error?.message || `exit ${result.status}`).trim().split('\n')[0];
  const info = spawnSync(DOCKER, ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8', timeout: 15_000 });
  if (info.status !== 0) return `${DOCKER} info: ${firstLine(info)}`;
  const compose = spawnSync(COMPOSE, ['version'], { encoding: 'utf8', timeout: 15_000 });
  if (compose.status !== 0) return `${COMPOSE} version: ${firstLine(compose)}`;
  return undefined;
}

export interface ContainerState {
  id: string;
  image: string;
  pid: number;
  status: string;
  /** The exit code of a container that has exited (0 while it runs). */
  exitCode: number;
  health: string | undefined;
  restartCount: number;
  user: string;
  readOnlyRootFilesystem: boolean;
}

/**
 * docker-compose.yml run as a project of its own, the way a user runs it, with one change (an override file made
 * here from the compose file): every published port is a free one on 127.0.0.1 instead of the fixed one, so the
 * stack runs beside the RabbitMQ, PostgreSQL and Redis of scripts/services.sh. `up` never builds or pulls: the
 * images come from scripts/images.sh.
 */
export class ComposeStack {
  private readonly directory = mkdtempSync(join(tmpdir(), 'warren-compose-'));
  private readonly override = join(this.directory, 'ports.override.yml');

  constructor(readonly project = 'warren-test') {
    writeFileSync(this.override, ephemeralPortsOverride(readFileSync(COMPOSE_FILE, 'utf8')));
  }

  compose(args: string[], timeoutMs = 60_000) {
    return run(COMPOSE, ['--project-name', this.project, '-f', COMPOSE_FILE, '-f', this.override, ...args], {
      cwd: REPOSITORY_ROOT,
      timeout: timeoutMs,
      maxBuffer: 16 * 1024 * 1024,
    });
  }

  /** The services `up` starts: every one but those behind a profile. */
  async services(): Promise<string[]> {
    const { stdout } = await this.compose(['config', '--services']);
    return stdout.split('\n').filter(Boolean).sort();
  }

  /** `up --wait`: returns once every container with a healthcheck is healthy (and the others running). */
  async up(timeoutSeconds: number): Promise<void> {
    await this.compose(
      ['up', '--detach', '--wait', '--wait-timeout', String(timeoutSeconds), '--no-build', '--pull', 'never'],
      (timeoutSeconds + 30) * 1000,
    );
  }

  async down(): Promise<void> {
    await this.compose(['down', '--volumes', '--remove-orphans', '--timeout', '10'], 120_000);
  }

  /** Where a service's container port is published: `127.0.0.1:<free port>`. */
  async address(service: string, containerPort: number): Promise<string> {
    const { stdout } = await this.compose(['port', service, String(containerPort)]);
    return stdout.trim();
  }

  /** The HTTP URL of a service's container port, e.g. url('gateway', 8080). */
  async url(service: string, containerPort: number): Promise<string> {
    return `http://${await this.address(service, containerPort)}`;
  }

  async containerId(service: string): Promise<string> {
    const { stdout } = await this.compose(['ps', '--all', '--quiet', service]);
    const id = stdout.trim();
    if (!id) throw new Error(`no container for ${service}`);
    return id;
  }

  async state(service: string): Promise<ContainerState> {
    const id = await this.containerId(service);
    const { stdout } = await run(DOCKER, ['inspect', id]);
    const [container] = JSON.parse(stdout) as any[];
    return {
      id,
      image: container.Config.Image,
      pid: container.State.Pid,
      status: container.State.Status,
      exitCode: container.State.ExitCode,
      health: container.State.Health?.Status,
      restartCount: container.RestartCount,
      user: container.Config.User,
      readOnlyRootFilesystem: container.HostConfig.ReadonlyRootfs,
    };
  }

  /**
   * Kills the container's main process with SIGKILL, as the kernel's OOM killer would: the engine sees a crash and
   * the restart policy applies (`docker kill` counts as a deliberate stop: no restart). Sent from a throwaway
   * container in the engine's own pid namespace, so it works whoever runs the tests and wherever the engine is.
   */
  async crash(service: string): Promise<ContainerState> {
    const state = await this.state(service);
    await run(DOCKER, [
      'run',
      '--rm',
      '--pid=host',
      '--user',
      '0',
      '--entrypoint',
      'sh',
      state.image,
      '-c',
      `kill -9 ${state.pid}`,
    ]);
    return state;
  }

  /** A command in a running container, as its image's user. */
  async exec(service: string, command: string[]): Promise<string> {
    const { stdout } = await this.compose(['exec', '-T', service, ...command]);
    return stdout;
  }

  /** The last lines a service wrote (for a failure's message). */
  async logs(service: string, lines = 40): Promise<string> {
    const { stdout, stderr } = await this.compose(['logs', '--no-color', '--tail', String(lines), service]);
    return stdout + stderr;
  }

  dispose(): void {
    rmSync(this.directory, { recursive: true, force: true });
  }
}

/** An override that publishes each published container port on a free host port of 127.0.0.1 instead. */
export function ephemeralPortsOverride(composeYaml: string): string {
  const compose = parse(composeYaml, { merge: true }) as { services: Record<string, { ports?: string[] }> };
  const lines = ['services:'];
  for (const [name, service] of Object.entries(compose.services)) {
    if (!service.ports?.length) continue;
    lines.push(`  ${name}:`, '    ports: !override');
    for (const port of service.ports) lines.push(`      - 127.0.0.1::${String(port).split(':').at(-1)}`);
  }
  return `${lines.join('\n')}\n`;
}
