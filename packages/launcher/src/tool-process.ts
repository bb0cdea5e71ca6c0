import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface ToolProcessOptions {
  /** Shown in errors, e.g. "jaeger". */
  name: string;
  binary: string;
  args: string[];
  /** A temporary folder the process owns: its log goes there, and `stop()` removes it. */
  workDir: string;
  /** Resolves true once the process serves what it is for. */
  ready(): Promise<boolean>;
  readyTimeoutMs: number;
}

export interface ToolProcess {
  process: ChildProcess;
  /** Where the process's own output goes. */
  logPath: string;
  /** SIGTERM, then SIGKILL after 10 s; removes the work folder. */
  stop(): Promise<void>;
}

/**
 * Starts a helper program (Jaeger, Prometheus) as a child process and waits
 * until `ready()` holds; if it fails to start, exits or is not ready in time,
 * stops it and throws with the last lines of its log.
 */
export async function startToolProcess(options: ToolProcessOptions): Promise<ToolProcess> {
  const logPath = join(options.workDir, `${options.name}.log`);
  const log = openSync(logPath, 'a');
  const child = spawn(options.binary, options.args, { stdio: ['ignore', log, log], cwd: options.workDir });
  closeSync(log);
  const spawnFailure = new Promise<Error>((resolve) => child.once('error', resolve));

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // A binary that never started (not installed) has no pid and emits no exit.
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(options.workDir, { recursive: true, force: true });
  };

  const deadline = Date.now() + options.readyTimeoutMs;
  for (;;) {
    const failure = await Promise.race([spawnFailure, new Promise<null>((r) => setTimeout(() => r(null), 100))]);
    const problem =
      failure?.message ??
      (child.exitCode !== null ? `exited with code ${child.exitCode}` : null) ??
      (Date.now() > deadline ? `not ready within ${options.readyTimeoutMs} ms` : null);
    if (problem) {
      const output = readFileSync(logPath, 'utf8').trim().split('\n').slice(-10).join('\n');
      await stop();
      throw new Error(`${options.name} ${problem}${output ? `:\n${output}` : ''}`);
    }
    if (await options.ready()) return { process: child, logPath, stop };
  }
}

/** True when a GET of `url` answers 2xx within a second. */
export async function answersOk(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false; // not listening yet
  }
}
