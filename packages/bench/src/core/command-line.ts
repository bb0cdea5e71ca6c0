// Command-line pieces shared by the benchmark programs: flags both take, number parsing, the loopback rule.
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

/** Bad command line; the message is followed by the usage text. */
export class UsageError extends Error {}

/** --help: print the usage text and nothing else. */
export class HelpRequested extends UsageError {}

/**
 * The flags of every benchmark: the measurement window, the warm-up, the rounds, the JSON line, --help, and
 * --role, with which a program forks itself into its other processes (see roles.ts).
 */
const COMMON_OPTIONS = {
  role: { type: 'string' },
  seconds: { type: 'string', default: '5' },
  'warmup-seconds': { type: 'string', default: '1' },
  rounds: { type: 'string', default: '1' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const satisfies ParseArgsOptionsConfig;

/** How long each cell is measured and how often; the same for both benchmarks. */
export interface MeasurementSettings {
  /** Measurement window of each implementation in each cell. */
  seconds: number;
  warmupSeconds: number;
  rounds: number;
  json: boolean;
}

/** What parseArgs makes of a command line with these options. */
type FlagValues<Options extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ args: string[]; strict: true; options: Options }>
>['values'];

/** Parses `argv` with the common flags and a benchmark's own; throws HelpRequested for --help. */
export function parseFlags<const Options extends ParseArgsOptionsConfig>(
  argv: readonly string[],
  options: Options,
): FlagValues<typeof COMMON_OPTIONS & Options> {
  let values: FlagValues<typeof COMMON_OPTIONS & Options>;
  try {
    values = parseArgs({ args: [...argv], strict: true, options: { ...COMMON_OPTIONS, ...options } })
      .values as typeof values;
  } catch (error) {
    // parseArgs throws a TypeError for unknown or malformed flags.
    throw new UsageError((error as Error).message);
  }
  if ((values as { help?: boolean }).help) throw new HelpRequested('');
  return values;
}

/** The common measurement flags, checked. */
export function measurementSettings(values: {
  seconds: string;
  'warmup-seconds': string;
  rounds: string;
  json: boolean;
}): MeasurementSettings {
  return {
    seconds: positiveNumber('--seconds', values.seconds),
    warmupSeconds: nonNegativeNumber('--warmup-seconds', values['warmup-seconds']),
    rounds: positiveInteger('--rounds', values.rounds),
    json: values.json,
  };
}

/**
 * Which process this is: `mainRole` (the one a person starts) when --role is not given, else one of the
 * roles the main process forks.
 */
export function roleOf<Main extends string, Child extends string>(
  value: string | undefined,
  mainRole: Main,
  childRoles: readonly Child[],
): Main | Child {
  if (value === undefined || value === mainRole) return mainRole;
  if ((childRoles as readonly string[]).includes(value)) return value as Child;
  throw new UsageError(`--role must be ${[mainRole, ...childRoles].join(' or ')}, not ${value}`);
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** `value` as a URL, which must point at this machine: every figure is about it, and nothing may go elsewhere. */
export function loopbackUrl(variable: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${variable} is not a URL`);
  }
  if (!LOOPBACK_HOSTS.has(url.hostname))
    throw new UsageError(`${variable} must point at loopback, not ${url.hostname}`);
  return url;
}

/** A flag's value as a finite number above zero. */
export function positiveNumber(flag: string, text: string): number {
  const value = Number(text);
  if (!(value > 0) || !Number.isFinite(value)) throw new UsageError(`${flag} must be a positive number, not ${text}`);
  return value;
}

/** A flag's value as a finite number, zero or more. */
export function nonNegativeNumber(flag: string, text: string): number {
  const value = Number(text);
  if (!(value >= 0) || !Number.isFinite(value)) throw new UsageError(`${flag} must be zero or more, not ${text}`);
  return value;
}

/** A flag's value as a whole number, one or more. */
export function positiveInteger(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`${flag} must be a positive integer, not ${text}`);
  return value;
}

/** A flag's value as a whole number, zero or more. */
export function nonNegativeInteger(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new UsageError(`${flag} must be zero or more, not ${text}`);
  return value;
}
