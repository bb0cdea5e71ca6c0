import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { REPOSITORY_ROOT } from '@warren/launcher';

export function dockerfilePath(service: string): string {
  return join(REPOSITORY_ROOT, 'services', service, 'Dockerfile');
}

/**
 * Just enough of a Dockerfile parser for the image tests: stages, and in each the instructions in order with their
 * flags (`--from=build`) and arguments. Comments, parser directives and line continuations are handled; variables
 * are not expanded (a test that needs a value reads it literally, so keep the lines it reads literal).
 */
export interface Instruction {
  keyword: string;
  flags: Record<string, string>;
  /** The arguments after the flags, as written. */
  rest: string;
  line: number;
}

export interface Stage {
  name: string | undefined;
  image: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  path: string;
  stages: Stage[];
}

export function readDockerfile(path: string): Dockerfile {
  return { path, stages: parseDockerfile(readFileSync(path, 'utf8')) };
}

export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const start = index;
    let logical = lines[index] ?? '';
    if (/^\s*(#.*)?$/.test(logical)) continue;
    while (/\\\s*$/.test(logical) && index + 1 < lines.length) {
      index++;
      const next = lines[index] ?? '';
      if (/^\s*#/.test(next)) continue; // comment lines inside a continued instruction are dropped
      logical = logical.replace(/\\\s*$/, ' ') + next.trim();
    }
    const match = /^\s*([A-Za-z]+)\s*(.*)$/.exec(logical);
    if (!match) throw new Error(`line ${start + 1}: cannot read «${logical}»`);
    const keyword = (match[1] ?? '').toUpperCase();
    let rest = (match[2] ?? '').trim();
    const flags: Record<string, string> = {};
    let flag: RegExpExecArray | null;
    while ((flag = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest))) {
      flags[flag[1] ?? ''] = flag[2] ?? 'true';
      rest = rest.slice(flag[0].length);
    }
    const instruction: Instruction = { keyword, flags, rest, line: start + 1 };
    if (keyword === 'FROM') {
      const [image = '', as, name] = rest.split(/\s+/);
      stages.push({ image, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) continue; // ARG before the first FROM
    stage.instructions.push(instruction);
  }
  return stages;
}

export function stageNamed(dockerfile: Dockerfile, name: string): Stage {
  const stage = dockerfile.stages.find((candidate) => candidate.name === name);
  if (!stage) throw new Error(`${dockerfile.path}: no stage named ${name}`);
  return stage;
}

/** The stage an image is built from when no --target is given: the last one. */
export function finalStage(dockerfile: Dockerfile): Stage {
  const stage = dockerfile.stages.at(-1);
  if (!stage) throw new Error(`${dockerfile.path}: no FROM`);
  return stage;
}

/** Words of a shell-form argument list, honouring double quotes; or the array of a JSON (exec) form. */
export function words(rest: string): string[] {
  if (rest.startsWith('[')) return JSON.parse(rest) as string[];
  return [...rest.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((match) => match[1] ?? match[2] ?? '');
}

/** `ENV A=1 B="two words"` (and the legacy `ENV A 1`) as key/value pairs. */
export function environmentOf(instruction: Instruction): Record<string, string> {
  const legacy = /^([^\s=]+)\s+(.*)$/.exec(instruction.rest);
  if (legacy) return { [legacy[1] ?? '']: legacy[2] ?? '' };
  const pairs: Record<string, string> = {};
  for (const match of instruction.rest.matchAll(/([^\s=]+)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    const value = match[2] ?? '';
    pairs[match[1] ?? ''] = value.startsWith('"') ? (JSON.parse(value) as string) : value;
  }
  return pairs;
}

/** LABEL pairs, same syntax as ENV. */
export const labelsOf = environmentOf;

/** The stage's working directory after each instruction is applied in order (Docker's default is `/`). */
export function resolveWorkdir(current: string, instruction: Instruction): string {
  return posix.resolve(current, instruction.rest.trim());
}

/** What an image built from this stage is configured with: ENV, LABEL, WORKDIR, USER, EXPOSE, CMD. */
export function imageConfig(stage: Stage) {
  let workdir = '/';
  let user: string | undefined;
  let cmd: string[] | undefined;
  const environment: Record<string, string> = {};
  const labels: Record<string, string> = {};
  const exposed: number[] = [];
  for (const instruction of stage.instructions) {
    switch (instruction.keyword) {
      case 'WORKDIR':
        workdir = resolveWorkdir(workdir, instruction);
        break;
      case 'ENV':
        Object.assign(environment, environmentOf(instruction));
        break;
      case 'LABEL':
        Object.assign(labels, labelsOf(instruction));
        break;
      case 'USER':
        user = instruction.rest.trim();
        break;
      case 'EXPOSE':
        exposed.push(...words(instruction.rest).map((port) => Number.parseInt(port, 10)));
        break;
      case 'CMD':
        cmd = words(instruction.rest);
        break;
    }
  }
  return { workdir, user, cmd, environment, labels, exposed };
}
