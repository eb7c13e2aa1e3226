/**
 * Runs the app as operators do (`node --import tsx src/main.ts`, the command behind
 * `npm run start:app`) in a child process with a clean environment and a temporary working
 * directory (so no `.env` of the developer's checkout is read), and exposes its output and exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// Resolved here: the child's working directory has no node_modules to resolve `tsx` from.
export const TSX_LOADER = import.meta.resolve('tsx');
/** In this repository the workspace packages run from their TypeScript sources (package.json `exports` condition). */
export const SOURCE_CONDITION = '--conditions=koa-oidc-bff-source';

export interface SpawnedApp {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** The JSON log lines written to stdout so far. */
  logs(): Record<string, unknown>[];
  /** Resolves with the first log line matching `predicate`; rejects if the process exits first. */
  waitForLog(predicate: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILLs the whole process group, for teardown. */
  kill(): void;
}

/**
 * Spawns `node --import tsx src/main.ts` with exactly `env` (plus PATH and HOME) in a fresh
 * temporary directory. Signals sent to `child` reach the app itself (no wrapper process).
 * @param script defaults to the app's entry point; pass another script path relative to the repo.
 */
export function spawnApp(env: Record<string, string>, script = 'src/main.ts'): SpawnedApp {
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'bff-run-'));
  const child = spawn(process.execPath, ['--import', TSX_LOADER, SOURCE_CONDITION, path.join(ROOT, script)], {
    cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? cwd, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: teardown can stop it and anything it started together.
    detached: true,
  });
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    for (const w of waiters) w();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      resolve({ code, signal });
      for (const w of waiters) w();
    });
  });
  const logs = () =>
    out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    logs,
    exited,
    kill() {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    },
    waitForLog(predicate) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = logs().find(predicate);
          if (found) {
            waiters.delete(check);
            resolve(found);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            waiters.delete(check);
            reject(new Error(`the app exited (${child.exitCode ?? child.signalCode}) before the expected log line\nstdout:\n${out}\nstderr:\n${err}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
  };
}
