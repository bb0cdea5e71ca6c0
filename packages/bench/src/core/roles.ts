/**
 * A benchmark's own child processes (echo servers, load generator, floor
 * HTTP server, floor worker) are the same program forked with --role=<name>,
 * so that none shares an event loop with another. The parent drives each one
 * with calls over the IPC channel: `start` with its settings first, then
 * whatever the role offers, then `shutdown`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { withTimeout } from './timeout';

type ParentMessage = { type: 'call'; id: number; kind: string; payload: unknown } | { type: 'shutdown' };
type ChildMessage =
  { type: 'reply'; id: number; ok: true; result: unknown } | { type: 'reply'; id: number; ok: false; error: string };

const EXIT_TIMEOUT_MS = 10_000;

/** The parent's handle on one forked role. `failed` rejects if the child dies before `stop()`. */
export class RoleProcess {
  readonly failed: Promise<never>;
  private readonly replies = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  private nextId = 0;
  private stopping = false;

  private constructor(
    readonly role: string,
    private readonly child: ChildProcess,
  ) {
    this.failed = new Promise<never>((_, reject) => {
      child.once('exit', (code, signal) => {
        const error = new Error(`${role} process exited unexpectedly (${signal ?? `code ${code}`})`);
        for (const pending of this.replies.values()) pending.reject(error);
        this.replies.clear();
        if (!this.stopping) reject(error);
      });
    });
    this.failed.catch(() => undefined);
    child.on('message', (message: ChildMessage) => {
      if (message?.type !== 'reply') return;
      const pending = this.replies.get(message.id);
      if (!pending) return;
      this.replies.delete(message.id);
      if (message.ok) pending.resolve(message.result);
      else pending.reject(new Error(`${role}: ${message.error}`));
    });
  }

  /** Forks `scriptPath` in `role` and resolves once its `start` call has answered. */
  static async start<Info>(
    scriptPath: string,
    role: string,
    settings: unknown,
    timeoutMs: number,
  ): Promise<{ process: RoleProcess; info: Info }> {
    const child = fork(scriptPath, [`--role=${role}`], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const handle = new RoleProcess(role, child);
    try {
      const info = await handle.call<Info>('start', settings, timeoutMs);
      return { process: handle, info };
    } catch (error) {
      await handle.stop();
      throw error;
    }
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  call<Result>(kind: string, payload: unknown, timeoutMs: number): Promise<Result> {
    const id = this.nextId++;
    const reply = new Promise<Result>((resolve, reject) => {
      this.replies.set(id, { resolve: resolve as (value: unknown) => void, reject });
    });
    this.send({ type: 'call', id, kind, payload });
    return withTimeout(Promise.race([reply, this.failed]), timeoutMs, `${this.role}: ${kind} did not answer in time`);
  }

  /** Asks the child to stop, and kills it if it has not exited in time. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    if (this.child.connected) this.send({ type: 'shutdown' });
    try {
      await withTimeout(exited, EXIT_TIMEOUT_MS, `${this.role} process did not exit`);
    } catch {
      this.child.kill('SIGKILL');
      await exited;
    }
  }

  private send(message: ParentMessage): void {
    if (this.child.connected) this.child.send(message);
  }
}

export interface RoleHandlers {
  start(settings: unknown): Promise<unknown>;
  stop(): Promise<void>;
  [kind: string]: (payload: unknown) => Promise<unknown>;
}

/** The child's side: answers the parent's calls with `handlers` until told to shut down, or orphaned. */
export function serveRole(handlers: RoleHandlers): void {
  let stopping = false;
  const shutdown = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await handlers.stop().catch(() => undefined);
    if (process.connected) process.disconnect();
    process.exit(0);
  };
  process.on('message', (message: ParentMessage) => {
    if (message?.type === 'shutdown') {
      void shutdown();
      return;
    }
    if (message?.type !== 'call') return;
    const handler = handlers[message.kind];
    const reply = (result: ChildMessage): void => {
      if (process.connected) process.send?.(result);
    };
    if (!handler || message.kind === 'stop') {
      reply({ type: 'reply', id: message.id, ok: false, error: `unknown call ${message.kind}` });
      return;
    }
    handler(message.payload).then(
      (result) => reply({ type: 'reply', id: message.id, ok: true, result }),
      (error: unknown) =>
        reply({
          type: 'reply',
          id: message.id,
          ok: false,
          error: error instanceof Error ? error.message : String(error),
        }),
    );
  });
  // The parent went away: nobody will ask us to stop.
  process.on('disconnect', () => void shutdown());
  // Ctrl-C reaches the whole process group; the parent decides when its children stop.
  process.on('SIGINT', () => undefined);
}
