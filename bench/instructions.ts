/**
 * `npx tsx bench/instructions.ts [calls] [warm-up calls]`: what OpenTelemetry costs the
 * authenticated path, counted in CPU instructions rather than seconds. Two app servers (memory
 * store) run under valgrind's callgrind, one without an SDK and one with the demo's (Prometheus
 * endpoint, OTLP/HTTP metrics and traces sampled at 1 %); after a warm-up with counting off, the
 * same authenticated JSON calls are sent to each with counting on, and the instructions of every
 * thread of the server (garbage collector and compiler threads included) are divided by the calls.
 * A diagnostic beside `npm run bench`, not part of it: req/s and CPU seconds on a shared 2-core
 * machine moved by tens of percent between runs, and this count does not depend on what else the
 * machine does. It still varies between runs (by up to about 20 points of cost), because V8 is
 * still compiling during the counted calls at a different pace each time. Needs valgrind (Debian
 * package `valgrind`); a few minutes.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { loginOnce } from './logins.ts';
import { startOtlpSink } from './otlp-sink.ts';
import type { ReadyMessage } from './protocol.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

export interface InstructionFigures {
  calls: number;
  /** Instructions per authenticated call (JSON), without and with the SDK. */
  withoutPerCall: number;
  withPerCall: number;
  /** with / without - 1 (0.05 = 5 % more instructions per call). */
  cost: number;
}

/** True when valgrind can be run. */
export function hasValgrind(): boolean {
  return spawnSync('valgrind', ['--version'], { stdio: 'ignore' }).status === 0;
}

interface Counted {
  child: ChildProcess;
  ready: ReadyMessage;
  outFile: string;
}

async function startCounted(dir: string, label: string, otlpUrl: string | undefined): Promise<Counted> {
  const outFile = path.join(dir, `${label}.callgrind`);
  const child = spawn('valgrind', [
    '--tool=callgrind', '--instr-atstart=no', '--smc-check=all-non-file', `--callgrind-out-file=${outFile}`,
    process.execPath, '--import', 'tsx', '--conditions=koa-oidc-bff-source', '--expose-gc',
    path.join(ROOT, 'bench/server.ts'), 'memory', '-', '-', otlpUrl ?? '-',
  ], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const ready = await new Promise<ReadyMessage>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${label}: not ready within 10 min`)); }, 600_000);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${label}: exited with ${code}`)); });
    child.on('message', (m: ReadyMessage) => {
      if (m.type === 'ready') { clearTimeout(timer); resolve(m); }
    });
  });
  return { child, ready, outFile };
}

function control(pid: number, ...args: string[]): void {
  const r = spawnSync('callgrind_control', [...args, String(pid)], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`callgrind_control ${args.join(' ')}: ${r.stdout}${r.stderr}`);
}

/** The instruction total of every dump callgrind wrote for `outFile` (one per thread and per dump). */
function totalInstructions(outFile: string): number {
  const dir = path.dirname(outFile);
  let total = 0;
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(path.basename(outFile))) continue;
    // `summary:` at the top of a dump is 0; `totals:` at its end holds the count.
    const match = /^totals:\s+(\d+)/m.exec(readFileSync(path.join(dir, name), 'utf8'));
    if (match) total += Number(match[1]);
  }
  return total;
}

/** Sends `calls` authenticated JSON calls, `concurrency` at a time, spread over `cookies`. */
async function drive(appUrl: string, cookies: string[], calls: number, concurrency: number): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  let sent = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (sent < calls) {
      const cookie = cookies[sent++ % cookies.length]!;
      await new Promise<void>((resolve, reject) => {
        http.get(`${appUrl}/api/hello`, { agent, headers: { cookie, 'x-csrf': '1', accept: 'application/json' } }, (res) => {
          if (res.statusCode !== 200) reject(new Error(`/api/hello answered ${res.statusCode}`));
          res.resume().on('end', resolve);
        }).on('error', reject);
      });
    }
  }));
  agent.destroy();
}

/** Counts instructions per authenticated call without and with the SDK; see the file comment. */
export async function measureInstructions(log: (line: string) => void, calls = 2000, warmup = 3000): Promise<InstructionFigures> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bff-callgrind-'));
  const sink = await startOtlpSink();
  const otlpUrl = sink.url;
  const servers: Counted[] = [];
  try {
    const perCall: number[] = [];
    for (const [label, url] of [['without', undefined], ['with', otlpUrl]] as const) {
      log(`instructions: starting the server ${label} OpenTelemetry under valgrind (minutes)`);
      const server = await startCounted(dir, label, url);
      servers.push(server);
      const cookies: string[] = [];
      for (let i = 0; i < 20; i++) cookies.push((await loginOnce(server.ready.appUrl, i)).cookie);
      log(`instructions: ${label}: ${warmup} calls to warm up, then ${calls} counted`);
      await drive(server.ready.appUrl, cookies, warmup, 8);
      control(server.ready.pid, '-i', 'on');
      await drive(server.ready.appUrl, cookies, calls, 8);
      control(server.ready.pid, '-i', 'off');
      control(server.ready.pid, '-d');
      perCall.push(totalInstructions(server.outFile) / calls);
      server.child.kill('SIGKILL');
    }
    const [withoutPerCall, withPerCall] = perCall as [number, number];
    return { calls, withoutPerCall: Math.round(withoutPerCall), withPerCall: Math.round(withPerCall), cost: Math.round((withPerCall / withoutPerCall - 1) * 1000) / 1000 };
  } finally {
    for (const s of servers) s.child.kill('SIGKILL');
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (!hasValgrind()) {
    process.stderr.write('bench/instructions.ts needs valgrind (Debian: apt-get install -y valgrind)\n');
    process.exit(1);
  }
  const figures = await measureInstructions((line) => process.stderr.write(`${line}\n`), Number(process.argv[2] ?? 2000), Number(process.argv[3] ?? 3000));
  process.stdout.write(`${JSON.stringify(figures)}\n`);
  process.exit(0);
}
