/**
 * The store contract of `koa-oidc-bff/testing` needs no particular test runner: the package never
 * imports one, and the suite passes under node:test (test/node-test/store-contract.node.ts, run in
 * a child process) as it does under ava (test/integration/store-contract.test.ts).
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';

const packageRoot = fileURLToPath(new URL('../', import.meta.url));
const RUNNERS = ['ava', 'vitest', 'mocha', 'jest', '@jest/globals', 'tap', 'uvu'];

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(entries.map((e) => (e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : [path.join(dir, e.name)])));
  return nested.flat().filter((f) => /\.[cm]?[jt]s$/.test(f));
}

test('the package source imports no test runner', async (t) => {
  const files = await sourceFiles(path.join(packageRoot, 'src'));
  t.true(files.some((f) => f.endsWith(path.join('testing', 'store-contract.ts'))), 'the contract is among the scanned files');
  const bad: string[] = [];
  for (const file of files) {
    const code = await readFile(file, 'utf8');
    for (const m of code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)['"]([^'"]+)['"]/g)) {
      const spec = m[1]!;
      if (RUNNERS.some((r) => spec === r || spec.startsWith(`${r}/`))) bad.push(`${path.relative(packageRoot, file)} -> ${spec}`);
    }
  }
  t.deepEqual(bad, []);
});

test('the store contract passes under node:test', async (t) => {
  const file = fileURLToPath(new URL('node-test/store-contract.node.ts', import.meta.url));
  const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = execFile(process.execPath, ['--import', 'tsx', '--conditions=koa-oidc-bff-source', '--test', '--test-reporter=tap', file], { cwd: packageRoot, timeout: 50_000, maxBuffer: 16 * 1024 * 1024 }, (_err, stdout, stderr) => {
      resolve({ code: child.exitCode, out: `${stdout}\n${stderr}` });
    });
  });
  t.is(result.code, 0, result.out);
  const count = (what: string) => Number(new RegExp(`^# ${what} (\\d+)$`, 'm').exec(result.out)?.[1] ?? NaN);
  t.is(count('fail'), 0, result.out);
  t.true(count('pass') >= 20, `too few contract cases ran:\n${result.out}`);
  t.regex(result.out, /ok \d+ - memory store: setTokens after destroy writes nothing/);
});
