/** The instrumented store (when an OpenTelemetry SDK listens) keeps what the store offers beyond the timed operations. */
import test from 'ava';
import { createMemoryStore } from '../../src/stores/memory.ts';
import { instrumentStore } from '../../src/telemetry/store-proxy.ts';
import { createTelemetry } from '../../src/telemetry/telemetry.ts';

test('a store that makes its own session ids (Redis Cluster) keeps making them behind the instrumentation', async (t) => {
  const memory = createMemoryStore();
  t.teardown(() => memory.close());
  const withIds = Object.assign(Object.create(memory) as typeof memory, { kind: memory.kind, newId: (sub: string) => `tag-of-${sub}.x` });
  const wrapped = instrumentStore(withIds, createTelemetry());
  t.is(wrapped.newId?.('alice'), 'tag-of-alice.x');
  t.is(instrumentStore(memory, createTelemetry()).newId, undefined, 'and none appears for a store without it');
});
