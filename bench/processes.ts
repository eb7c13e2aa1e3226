/**
 * Child processes of the benchmark and their CPU placement: the servers (bench/server.ts and the
 * bare Koa reference bench/bare-koa.ts, IPC channel) and the load generator (bench/load-worker.ts, JSON over stdin/stdout), each optionally
 * pinned to its own core with taskset. Every wait is bounded.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadPlan, LoadResult } from './load-worker.ts';
import type { Command, ReadyMessage, Reply, StoreName } from './protocol.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Where each side runs: CPU lists for taskset, or undefined when not pinned. */
export interface Placement {
  cores: number;
  taskset: boolean;
  serverCpus: string | undefined;
  loadCpus: string | undefined;
  /** Human-readable, for the output. */
  describe: string;
}

/**
 * Servers (app and bare Koa) on CPU 0, load generator and this driver on the other CPUs, when taskset exists and
 * there are at least 2 cores; otherwise everything shares all cores (said so in the output).
 */
export function choosePlacement(): Placement {
  const cores = os.availableParallelism();
  const taskset = spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!taskset || cores < 2) {
    return { cores, taskset, serverCpus: undefined, loadCpus: undefined, describe: `not pinned (${taskset ? `only ${cores} core` : 'taskset not found'}): server and load generator share ${cores} core(s)` };
  }
  const loadCpus = cores === 2 ? '1' : `1-${cores - 1}`;
  // This process drives the logins and waits during load: keep it off the server's core too.
  spawnSync('taskset', ['-a', '-p', '-c', loadCpus, String(process.pid)], { stdio: 'ignore' });
  return { cores, taskset, serverCpus: '0', loadCpus, describe: `app servers and the bare Koa reference pinned to CPU 0 (1 core; one under load at a time, the others idle); load generator, login driver and dev-idp on CPU ${loadCpus} (${cores - 1} core${cores > 2 ? 's' : ''}); Redis (when used) not pinned` };
}

function nodeCommand(cpus: string | undefined, args: string[]): [string, string[]] {
  return cpus ? ['taskset', ['-c', cpus, process.execPath, ...args]] : [process.execPath, args];
}

/** A running bench/server.ts. */
export class ServerProcess {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private exited = false;

  private constructor(readonly child: ChildProcess, readonly ready: ReadyMessage) {
    child.on('message', (m: Reply) => {
      if (m.type !== 'reply') return;
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.ok) p?.resolve(m.result);
      else p?.reject(new Error(`server: ${m.error}`));
    });
    child.on('exit', () => {
      this.exited = true;
      for (const p of this.pending.values()) p.reject(new Error('server process exited'));
      this.pending.clear();
    });
  }

  /**
   * Starts the server for `store` and waits (at most `timeoutMs`) until it listens. With `otlpUrl`
   * it runs the demo's OpenTelemetry SDK; with `metricsOnly` too, without tracing or OTLP export;
   * with `twin`, beside its app a second one without telemetry (bench/server.ts).
   */
  static start(store: StoreName, placement: Placement, options: { redisUrl?: string; timeoutMs?: number; otlpUrl?: string; metricsOnly?: boolean; twin?: boolean } = {}): Promise<ServerProcess> {
    const args = [path.join(ROOT, 'bench/server.ts'), store, options.redisUrl ?? '-', placement.loadCpus ?? '-', options.otlpUrl ?? '-', ...(options.metricsOnly ? ['metrics-only'] : []), ...(options.twin ? ['twin'] : [])];
    return ServerProcess.spawn(`server (${store}${options.otlpUrl ? ', OpenTelemetry' : ''})`, args, placement, options.timeoutMs);
  }

  /**
   * Starts the bare Koa reference (bench/bare-koa.ts) exactly as the app servers are started:
   * the same node flags, pinned to the same core.
   */
  static startBareKoa(placement: Placement, options: { timeoutMs?: number } = {}): Promise<ServerProcess> {
    return ServerProcess.spawn('bare Koa server', [path.join(ROOT, 'bench/bare-koa.ts')], placement, options.timeoutMs);
  }

  private static async spawn(label: string, scriptArgs: string[], placement: Placement, timeoutMs = 60_000): Promise<ServerProcess> {
    const args = ['--import', 'tsx', '--conditions=koa-oidc-bff-source', '--expose-gc', ...scriptArgs];
    const [cmd, argv] = nodeCommand(placement.serverCpus, args);
    const child = spawn(cmd, argv, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const ready = await new Promise<ReadyMessage>((resolve, reject) => {
      const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${label} not ready within ${timeoutMs} ms`)); }, timeoutMs);
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${label} exited with ${code} before it was ready`)); });
      child.on('message', (m: ReadyMessage) => {
        if (m.type === 'ready') { clearTimeout(timer); resolve(m); }
      });
    });
    return new ServerProcess(child, ready);
  }

  /** Sends a command; rejects when the server fails it or does not answer within `timeoutMs`. */
  request<T>(command: Command, timeoutMs: number): Promise<T> {
    if (this.exited) return Promise.reject(new Error('server process exited'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`server did not answer ${command.cmd} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => { clearTimeout(timer); resolve(v as T); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      this.child.send({ id, ...command });
    });
  }

  /** Asks the server to close, then kills it after `timeoutMs`. */
  async close(timeoutMs = 20_000): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    await this.request({ cmd: 'close' }, timeoutMs).catch(() => undefined);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  /** Kills the server at once (error paths). */
  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

/**
 * Runs bench/load-worker.ts with `plan` in its own (pinned) process.
 * @throws when it fails or overruns its own time budget by more than 60 s.
 */
export async function runLoad(plan: LoadPlan, placement: Placement): Promise<LoadResult[]> {
  const [cmd, argv] = nodeCommand(placement.loadCpus, ['--import', 'tsx', '--conditions=koa-oidc-bff-source', path.join(ROOT, 'bench/load-worker.ts')]);
  const child = spawn(cmd, argv, { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  const budgetMs = plan.targets.reduce((ms, t) => ms + ((t.warmup === false ? 0 : plan.warmupSeconds) + plan.rounds * plan.seconds) * 1000 + (plan.rounds + 1) * (plan.settleMs ?? 0), 60_000);
  const chunks: Buffer[] = [];
  child.stdout!.on('data', (c: Buffer) => chunks.push(c));
  child.stdin!.end(JSON.stringify(plan));
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), budgetMs);
    child.once('exit', (c) => { clearTimeout(timer); resolve(c); });
  });
  if (code !== 0) throw new Error(`load worker exited with ${code} (budget ${budgetMs} ms)`);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as LoadResult[];
}
