/**
 * What Linux's /proc says about a process or the whole machine: CPU time and
 * resident memory. The benchmark reads it for every process it compares, the
 * suite's services included, without asking them anything.
 */
import { readFileSync } from 'node:fs';

// USER_HZ: the unit of /proc/<pid>/stat's CPU times; 100 on every Linux the benchmark runs on.
const TICKS_PER_SECOND = 100;

/** CPU time (user + system) a process has used so far, in microseconds; NaN once it is gone. */
export function processCpuMicros(pid: number): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return Number.NaN;
  }
  // The command name (field 2) may hold spaces and parentheses: count fields after its closing one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line, so 12 and 13 after the name.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks / TICKS_PER_SECOND) * 1e6;
}

/** Resident set size of a process in bytes (VmRSS); NaN once it is gone. */
export function processRssBytes(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

export interface MachineCpu {
  busy: number;
  total: number;
}

/** Cumulative busy and total CPU time of the whole machine, from the first line of /proc/stat. */
export function machineCpu(): MachineCpu {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const [, ...values] = line.trim().split(/\s+/);
  const numbers = values.map(Number);
  const total = numbers.reduce((sum, value) => sum + value, 0);
  // idle and iowait are fields 4 and 5.
  const idle = (numbers[3] ?? 0) + (numbers[4] ?? 0);
  return { busy: total - idle, total };
}

/** Share of all the machine's CPUs that was busy between two samples, in percent. */
export function machineBusyPercent(before: MachineCpu, after: MachineCpu): number {
  const total = after.total - before.total;
  return total > 0 ? ((after.busy - before.busy) / total) * 100 : Number.NaN;
}

/** CPU time used by each of several processes, sampled together. */
export class CpuSampler<Name extends string> {
  constructor(private readonly pids: () => Readonly<Record<Name, number>>) {}

  sample(): { processes: Record<Name, number>; machine: MachineCpu } {
    const processes = {} as Record<Name, number>;
    for (const [name, pid] of Object.entries(this.pids()) as [Name, number][]) {
      processes[name] = processCpuMicros(pid);
    }
    return { processes, machine: machineCpu() };
  }
}
