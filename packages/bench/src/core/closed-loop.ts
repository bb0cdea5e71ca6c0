/**
 * Closed-loop load, the way both benchmarks measure throughput and latency at a concurrency: `concurrency`
 * workers, each starting its next call when the last one is answered, until the time is up. A worker starts no
 * call after the deadline and the window ends when the last reply is in, so every call counted is a whole round
 * trip and the rate is calls / elapsed.
 */

/** One call of a worker; false when the worker has nothing left to send and stops early. */
export type ClosedLoopCall = () => Promise<boolean>;

/** Runs the workers; resolves with the seconds elapsed until the last one finished. */
export async function driveClosedLoop(concurrency: number, seconds: number, call: ClosedLoopCall): Promise<number> {
  const startedAt = performance.now();
  const deadline = startedAt + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) if (!(await call())) return;
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return (performance.now() - startedAt) / 1000;
}
