/** Messages between the generator and its forked echo-server process. */

export type GeneratorMessage = { kind: 'cpu-usage' } | { kind: 'shutdown' };

export type ServerMessage =
  { kind: 'ready' } | { kind: 'cpu-usage'; usage: NodeJS.CpuUsage } | { kind: 'failed'; message: string };

export function isServerMessage(value: unknown): value is ServerMessage {
  const kind = (value as { kind?: unknown } | null)?.kind;
  return kind === 'ready' || kind === 'cpu-usage' || kind === 'failed';
}

export function isGeneratorMessage(value: unknown): value is GeneratorMessage {
  const kind = (value as { kind?: unknown } | null)?.kind;
  return kind === 'cpu-usage' || kind === 'shutdown';
}

/** Rejects with `message` if `promise` has not settled within `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
