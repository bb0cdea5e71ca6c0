/** k6 durations ("500ms", "10s", "1m30s", "2h") in milliseconds; a bare number is milliseconds, as in k6. */
export class DurationSyntaxError extends Error {
  readonly code = 'DURATION_SYNTAX';
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(text: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== text) {
    throw new DurationSyntaxError(`"${text}" is not a duration such as 500ms, 10s or 1m30s`);
  }
  return parts.reduce((total, [, amount, unit]) => total + Number(amount) * UNIT_MS[unit!]!, 0);
}
