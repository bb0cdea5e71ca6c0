import { fork, type ChildProcess } from 'node:child_process';
import type { BenchQueues } from './config';
import { isServerMessage, withTimeout, type GeneratorMessage, type ServerMessage } from './ipc';

const READY_TIMEOUT_MS = 20_000;
const REPLY_TIMEOUT_MS = 5_000;
const EXIT_TIMEOUT_MS = 5_000;

/**
 * The generator's handle on the forked echo-server process: it waits for the
 * servers to be up, samples the child's CPU time, and makes sure the child is
 * gone at the end. `failed` rejects if the child dies before `stop()`, so a
 * measurement can race against it instead of waiting for replies that never come.
 */
export class ServerProcess {
  readonly failed: Promise<never>;
  private stopping = false;

  private constructor(private readonly child: ChildProcess) {
    this.failed = new Promise<never>((_, reject) => {
      child.once('exit', (code, signal) => {
        if (!this.stopping) reject(new Error(`echo-server process exited unexpectedly (${signal ?? `code ${code}`})`));
      });
      child.once('error', (error) => reject(new Error(`echo-server process: ${error.message}`)));
    });
    // Nobody may be racing against `failed` at the moment the child dies.
    this.failed.catch(() => undefined);
  }

  /** Forks this same program in the server role and resolves once both echo servers consume. */
  static async start(scriptPath: string, queues: BenchQueues): Promise<ServerProcess> {
    const child = fork(
      scriptPath,
      ['--role=server', `--warren-queue=${queues.warren}`, `--floor-queue=${queues.floor}`],
      {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    );
    const server = new ServerProcess(child);
    try {
      await withTimeout(
        Promise.race([server.nextMessage('ready'), server.failed]),
        READY_TIMEOUT_MS,
        'echo-server process did not become ready',
      );
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  /** The child's cumulative CPU time, as process.cpuUsage() reports it there. */
  async cpuUsage(): Promise<NodeJS.CpuUsage> {
    const reply = this.nextMessage('cpu-usage');
    this.send({ kind: 'cpu-usage' });
    const message = await withTimeout(
      Promise.race([reply, this.failed]),
      REPLY_TIMEOUT_MS,
      'echo-server CPU sample timed out',
    );
    return message.usage;
  }

  /** Asks the child to close its connections, and kills it if it does not exit in time. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    if (this.child.connected) this.send({ kind: 'shutdown' });
    try {
      await withTimeout(exited, EXIT_TIMEOUT_MS, 'echo-server process did not exit');
    } catch {
      this.child.kill('SIGKILL');
      await exited;
    }
  }

  private send(message: GeneratorMessage): void {
    this.child.send(message);
  }

  /** The next message of `kind`; a `failed` message from the child rejects it. */
  private nextMessage<Kind extends ServerMessage['kind']>(kind: Kind): Promise<Extract<ServerMessage, { kind: Kind }>> {
    return new Promise((resolve, reject) => {
      const onMessage = (message: unknown): void => {
        if (!isServerMessage(message)) return;
        if (message.kind === 'failed') reject(new Error(`echo-server process failed: ${message.message}`));
        else if (message.kind === kind) resolve(message as Extract<ServerMessage, { kind: Kind }>);
        else return;
        this.child.off('message', onMessage);
      };
      this.child.on('message', onMessage);
    });
  }
}
