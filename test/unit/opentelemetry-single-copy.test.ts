/**
 * The demo's OpenTelemetry SDK is installed as one copy of each package. `@opentelemetry/sdk-node`
 * pins its SDK packages to exact versions; a caret range on a direct dependency let npm install a
 * newer patch beside them, and the tracer provider, the span processor and the metric readers then
 * came from different copies of the same code (more code for V8 to compile and keep warm, and
 * classes that `instanceof` does not recognise across copies).
 */
import { readFileSync } from 'node:fs';
import test from 'ava';

const ROOT = new URL('../../', import.meta.url);
const lock = JSON.parse(readFileSync(new URL('package-lock.json', ROOT), 'utf8')) as { packages: Record<string, { version?: string; dependencies?: Record<string, string> }> };
const manifest = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as { dependencies: Record<string, string> };

test('package-lock.json holds each @opentelemetry package once', (t) => {
  const nested = Object.keys(lock.packages).filter((p) => /node_modules\/@opentelemetry\/[^/]+\/node_modules\/@opentelemetry\//.test(p));
  t.deepEqual(nested, []);
});

test('the direct @opentelemetry dependencies name the exact versions @opentelemetry/sdk-node pins', (t) => {
  const sdkNode = lock.packages['node_modules/@opentelemetry/sdk-node'];
  t.truthy(sdkNode?.dependencies);
  const direct = Object.entries(manifest.dependencies).filter(([name]) => name.startsWith('@opentelemetry/') && name !== '@opentelemetry/api');
  t.true(direct.length >= 5, direct.map(([n]) => n).join(', '));
  for (const [name, range] of direct) {
    const installed = lock.packages[`node_modules/${name}`]?.version;
    t.is(range, installed ?? '(not in package-lock.json)', `${name}: package.json says ${range}, package-lock.json installs ${installed}`);
    const pinned = sdkNode!.dependencies![name];
    if (pinned !== undefined) t.is(range, pinned, `${name}: @opentelemetry/sdk-node pins ${pinned}`);
  }
});
