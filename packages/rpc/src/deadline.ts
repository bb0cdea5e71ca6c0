/**
 * Deadlines are epoch milliseconds, the unit of the deadline header on the wire, so one taken when a request was
 * accepted (an HTTP request at the gateway, a message at a worker) bounds every wait that request makes later.
 */

/** The earlier of `now + timeoutMs` and `deadline`: a call never outlives the request it serves. */
export function effectiveDeadline(now: number, timeoutMs: number, deadline: number | undefined): number {
  const own = now + timeoutMs;
  return deadline === undefined || !(deadline < own) ? own : deadline;
}

/**
 * Settles as `work` does, or rejects with `onExpiry()` once `deadline` has passed, whichever comes first. The wait
 * ends at the deadline whatever `work` is waiting on; `work` itself goes on, and a late rejection of it is
 * swallowed, so whatever it holds must clean itself up.
 */
export function beforeDeadline<T>(work: Promise<T>, deadline: number, onExpiry: () => Error): Promise<T> {
  work.catch(() => undefined);
  const remainingMs = deadline - Date.now();
  if (remainingMs <= 0) return Promise.reject(onExpiry());
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(onExpiry()), remainingMs);
  });
  return Promise.race([work, expiry]).finally(() => clearTimeout(timer));
}

/** Resolves true once `work` settles (either way), or false after `timeoutMs`: for clean-ups that may not hang. */
export async function settlesWithin(work: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  const settled = work.then(
    () => true,
    () => true,
  );
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
  try {
    return await Promise.race([settled, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
