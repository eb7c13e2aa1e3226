/** CPU time of a process or one of its threads from /proc (Linux), for the benchmark's per-request figures. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's times (`getconf CLK_TCK`, usually 100). */
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * User + system CPU time so far, in microseconds, from a stat file (`/proc/<pid>/stat` for a
 * process with all its threads, `/proc/<pid>/task/<tid>/stat` for one thread); undefined where it
 * cannot be read. Resolution: one clock tick (10 ms at 100 ticks per second).
 */
export function statCpuUs(statPath: string): number | undefined {
  try {
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15 (man 5 proc).
    const stat = readFileSync(statPath, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}
