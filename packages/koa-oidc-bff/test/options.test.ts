/**
 * createBff option validation: every problem reported at once by BffOptionsError, and the host
 * app left as it was (`app.keys`).
 */
import test from 'ava';
import Koa from 'koa';
import { BffOptionsError, createBff, type BffOptions } from 'koa-oidc-bff';
import { createMemoryStore } from 'koa-oidc-bff/stores/memory';

const GOOD: BffOptions = {
  issuer: 'https://idp.example.com',
  clientId: 'app',
  clientSecret: 'app-client-secret',
  baseUrl: 'https://app.example.com',
  secrets: ['0123456789abcdef0123456789abcdef'],
};

function problemsOf(options: unknown): { option: string; message: string }[] {
  try {
    createBff(options as BffOptions);
  } catch (err) {
    if (err instanceof BffOptionsError) return [...err.problems];
    throw err;
  }
  throw new Error('createBff accepted the options');
}

const BAD = {
  issuer: 'http://idp.example.com',
  clientSecret: 'app-client-secret',
  baseUrl: 'https://app.example.com',
  secrets: 'too-short',
  idleTimeout: 7200,
  absoluteTimeout: 3600,
};

test('BffOptionsError lists every problem at once', (t) => {
  const error = t.throws(() => createBff(BAD as unknown as BffOptions), { instanceOf: BffOptionsError });
  t.true(error instanceof TypeError);
  t.is(error.name, 'BffOptionsError');
  const options = error.problems.map((p) => p.option);
  t.true(options.includes('issuer'), 'http issuer off loopback');
  t.true(options.includes('secrets'), 'short secret');
  t.true(options.includes('clientId'), 'missing clientId');
  t.true(options.includes('store'), 'no store for a non-loopback baseUrl');
  // The message names each of them.
  for (const option of ['issuer', 'secrets', 'clientId', 'store']) t.regex(error.message, new RegExp(`\\n  - ${option}: `));
});

// Known package bug: checkOptions (src/options.ts) checks idleTimeout > absoluteTimeout (and
// duplicate route paths) only when the zod schema parsed, so as soon as another option is invalid
// (here the missing clientId) that problem is not listed. Remove `.failing` once it is.
test('idleTimeout > absoluteTimeout is listed together with the other problems', (t) => {
  const options = problemsOf(BAD).map((p) => p.option);
  t.true(options.includes('idleTimeout'));
});

test('each rule on its own', (t) => {
  const store = createMemoryStore();
  t.teardown(() => store.close());
  const only = (options: unknown) => problemsOf(options).map((p) => `${p.option}: ${p.message}`);
  t.deepEqual(only({ ...GOOD, store, issuer: 'http://idp.example.com' }), ['issuer: http:// is accepted only on a loopback host (localhost, 127.0.0.1, ::1); use https']);
  t.deepEqual(only({ ...GOOD, store, secrets: ['0123456789abcdef'] }), ['secrets: each key must be at least 32 bytes']);
  t.deepEqual(only({ ...GOOD, store, clientId: undefined }), ['clientId: is required']);
  t.deepEqual(only({ ...GOOD, store, idleTimeout: 7200, absoluteTimeout: 3600 }), ['idleTimeout: must not exceed absoluteTimeout']);
  t.deepEqual(only({ ...GOOD }), [`store: is required unless baseUrl is a loopback origin (the default in-memory store loses sessions on restart and is not shared between instances)`]);
});

test('valid options are accepted and the host app is left alone (app.keys stays undefined)', async (t) => {
  const app = new Koa();
  t.is(app.keys as unknown, undefined);
  const store = createMemoryStore();
  // A loopback baseUrl may go without a store; an https one with a store is fine too.
  const loopback = createBff({ ...GOOD, issuer: 'http://127.0.0.1:9', baseUrl: 'http://localhost:3000' });
  const production = createBff({ ...GOOD, store });
  t.is(loopback.cookieName, 'bff.sid');
  t.is(production.cookieName, '__Host-Http-bff.sid');
  app.use(loopback.middleware());
  t.is(app.keys as unknown, undefined);
  await loopback.close();
  await production.close();
  await store.close();
});
