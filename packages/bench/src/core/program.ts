/**
 * What a benchmark program does around its work, the same for all of them: parse the command line once,
 * answer --help, and turn failures into exit codes (0 whether or not targets are met, 1 on a failure, 2 on a
 * bad command line). Progress goes to stderr so that stdout holds only the report and the JSON line.
 */
import { HelpRequested, UsageError } from './command-line';

export type Progress = (line: string) => void;

export interface BenchmarkProgram<Parsed> {
  /** As in messages: `rpc-bench`, `full-path-bench`. */
  name: string;
  usage: string;
  /** Throws UsageError (or HelpRequested) on a bad command line. */
  parse(argv: readonly string[], env: NodeJS.ProcessEnv): Parsed;
  run(parsed: Parsed): Promise<void>;
}

export function runBenchmarkProgram<Parsed>(program: BenchmarkProgram<Parsed>): void {
  const fail = (error: unknown): void => {
    console.error(`${program.name} failed: ${error instanceof Error ? error.message : String(error)}`);
    // A connection still retrying must not keep a failed run alive.
    process.exit(1);
  };
  let parsed: Parsed;
  try {
    parsed = program.parse(process.argv.slice(2), process.env);
  } catch (error) {
    if (error instanceof HelpRequested) {
      console.log(program.usage);
      return;
    }
    if (!(error instanceof UsageError)) return fail(error);
    console.error(`${program.name}: ${error.message}\n${program.usage}`);
    process.exitCode = 2;
    return;
  }
  program.run(parsed).catch(fail);
}

/** Progress lines, on stderr, marked with the program's name. */
export function progressTo(name: string): Progress {
  return (line) => process.stderr.write(`[${name}] ${line}\n`);
}
