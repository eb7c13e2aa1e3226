/** The demo's context manager: contexts follow awaits while entered, and nothing is on once all are left. */
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';
import { OnDemandContextManager } from '../../src/telemetry-context.ts';

const KEY = createContextKey('test');

test('a context follows awaits inside with(), concurrent ones stay apart, and none is active after', async (t) => {
  const manager = new OnDemandContextManager();
  const seen = await Promise.all(['a', 'b'].map((v) => manager.with(ROOT_CONTEXT.setValue(KEY, v), async () => {
    await sleep(5);
    const inner = manager.active().getValue(KEY);
    await sleep(5);
    return [inner, manager.active().getValue(KEY)];
  })));
  t.deepEqual(seen, [['a', 'a'], ['b', 'b']]);
  t.is(manager.active(), ROOT_CONTEXT);
});

test('a throwing function leaves its context, and bind() runs a function in a context', (t) => {
  const manager = new OnDemandContextManager();
  t.throws(() => manager.with(ROOT_CONTEXT.setValue(KEY, 'x'), () => {
    throw new Error('boom');
  }));
  t.is(manager.active(), ROOT_CONTEXT);
  const bound = manager.bind(ROOT_CONTEXT.setValue(KEY, 'y'), () => manager.active().getValue(KEY));
  t.is(bound(), 'y');
  t.is(manager.active(), ROOT_CONTEXT);
});
