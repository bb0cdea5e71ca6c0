import { exec, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import {
  cpSync,
  createWriteStream,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { promisify } from 'node:util';
import { REPOSITORY_ROOT } from '@warren/launcher';
import {
  environmentOf,
  finalStage,
  imageConfig,
  readDockerfile,
  resolveWorkdir,
  stageNamed,
  words,
  type Dockerfile,
} from './dockerfile';

const run = promisify(exec);

export function dockerfilePath(service: string): string {
  return join(REPOSITORY_ROOT, 'services', service, 'Dockerfile');
}

/** A stage's files are the repository's: the build stage copies the repository into its WORKDIR and builds there. */
function buildStageRoot(dockerfile: Dockerfile, stageName: string): string {
  return imageConfig(stageNamed(dockerfile, stageName)).workdir;
}

/**
 * The runtime stage of a service's Dockerfile, laid out in a temporary directory standing for the image's root
 * filesystem: each COPY as written (a `--from` stage's WORKDIR is the repository, already built by `tsc -b`), then
 * each RUN (only `npm ci …` is allowed there; it runs with `--prefer-offline`, the npm cache being warm).
 */
export class ImageRuntime {
  readonly root: string;
  readonly dockerfile: Dockerfile;
  readonly config: ReturnType<typeof imageConfig>;
  private child: ChildProcess | null = null;
  private exit: Promise<number | null> | null = null;
  readonly logPath: string;

  constructor(readonly service: string) {
    this.dockerfile = readDockerfile(dockerfilePath(service));
    this.config = imageConfig(finalStage(this.dockerfile));
    this.root = mkdtempSync(join(tmpdir(), `warren-image-${service}-`));
    this.logPath = join(this.root, 'tmp', `${service}.log`);
  }

  /** A path inside the image, as a path in the temporary directory. */
  inImage(path: string): string {
    return join(this.root, posix.resolve('/', path));
  }

  /** Replays the runtime stage's COPY and RUN instructions. */
  async build(): Promise<void> {
    mkdirSync(join(this.root, 'tmp'), { recursive: true });
    let workdir = '/';
    const environment: Record<string, string> = {};
    for (const instruction of finalStage(this.dockerfile).instructions) {
      switch (instruction.keyword) {
        case 'WORKDIR':
          workdir = resolveWorkdir(workdir, instruction);
          mkdirSync(this.inImage(workdir), { recursive: true });
          break;
        case 'ENV':
          Object.assign(environment, environmentOf(instruction));
          break;
        case 'COPY':
          this.copy(instruction.flags.from, words(instruction.rest), workdir, instruction.line);
          break;
        case 'ADD':
          throw new Error(`${this.dockerfile.path}:${instruction.line}: ADD cannot be reproduced; use COPY`);
        case 'RUN':
          await this.runCommand(instruction.rest, workdir, environment, instruction.line);
          break;
      }
    }
  }

  private copy(from: string | undefined, args: string[], workdir: string, line: number): void {
    const destination = args.at(-1);
    const sources = args.slice(0, -1);
    if (!destination || sources.length === 0) throw new Error(`${this.dockerfile.path}:${line}: COPY needs a source`);
    const sourceRoot = from ? buildStageRoot(this.dockerfile, from) : '/';
    const target = this.inImage(posix.resolve(workdir, destination));
    const intoDirectory = destination.endsWith('/') || sources.length > 1;
    for (const source of sources) {
      if (/[*?[]|\$/.test(source)) throw new Error(`${this.dockerfile.path}:${line}: keep COPY sources literal`);
      // A --from stage path is inside that stage's WORKDIR (the repository); a context path is the repository's.
      const inStage = from ? posix.relative(sourceRoot, posix.resolve(sourceRoot, source)) : posix.normalize(source);
      if (inStage.startsWith('..'))
        throw new Error(`${this.dockerfile.path}:${line}: ${source} is outside ${sourceRoot}`);
      const real = join(REPOSITORY_ROOT, inStage);
      if (!existsSync(real)) throw new Error(`${this.dockerfile.path}:${line}: ${source} does not exist (${real})`);
      const directory = lstatSync(real).isDirectory();
      // Docker copies a directory's contents into the destination, a file into it (or as it).
      const to = directory || !intoDirectory ? target : join(target, posix.basename(inStage));
      mkdirSync(directory ? to : dirname(to), { recursive: true });
      cpSync(real, to, { recursive: true });
    }
  }

  private async runCommand(command: string, workdir: string, environment: Record<string, string>, line: number) {
    if (!/^npm ci\b[^&|;]*$/.test(command)) {
      throw new Error(`${this.dockerfile.path}:${line}: only a plain \`npm ci …\` RUN can be reproduced: ${command}`);
    }
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !/^(npm_|NODE_ENV$|NODE_OPTIONS$)/i.test(key)),
    );
    await run(command, {
      cwd: this.inImage(workdir),
      env: { ...inherited, ...environment, npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' },
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    });
  }

  /** Starts the image's CMD in its WORKDIR with its ENV, plus `environment` (ports, connection strings). */
  start(environment: Record<string, string>): void {
    const [program, ...args] = this.config.cmd ?? [];
    if (!program) throw new Error(`${this.dockerfile.path}: no CMD`);
    const log = createWriteStream(this.logPath);
    this.child = spawn(program === 'node' ? process.execPath : program, args, {
      cwd: this.inImage(this.config.workdir),
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: join(this.root, 'tmp'),
        TMPDIR: join(this.root, 'tmp'),
        ...this.config.environment,
        ...environment,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.pipe(log);
    this.child.stderr?.pipe(log);
    const child = this.child;
    this.exit = once(child, 'exit').then(([code]) => code as number | null);
  }

  get exited(): boolean {
    return this.child !== null && this.child.exitCode !== null;
  }

  /** Polls `url` until it answers 200; fails at once if the process exits, with the end of its log. */
  async waitUntilReady(url: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.exited) throw new Error(`${this.service} exited with ${this.child?.exitCode}:\n${this.logTail()}`);
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
        if (response.status === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`${this.service}: ${url} not green within ${timeoutMs} ms:\n${this.logTail()}`);
  }

  /** SIGTERM, then the exit code (SIGKILL after `timeoutMs`). */
  async stop(timeoutMs = 30_000): Promise<number | null> {
    if (!this.child || !this.exit) return null;
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exit;
    } finally {
      clearTimeout(timer);
    }
  }

  logTail(lines = 40): string {
    try {
      return readFileSync(this.logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** Every path of the image's tree outside /tmp with its size and mtime: compared to show nothing else was written. */
  snapshot(): Map<string, string> {
    const entries = new Map<string, string>();
    const walk = (directory: string): void => {
      for (const name of readdirSync(directory)) {
        const path = join(directory, name);
        if (path === join(this.root, 'tmp')) continue;
        const stat = lstatSync(path);
        entries.set(path.slice(this.root.length), `${stat.size}:${stat.mtimeMs}`);
        if (stat.isDirectory()) walk(path);
      }
    };
    walk(this.root);
    return entries;
  }
}
