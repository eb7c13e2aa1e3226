/**
 * Idle timeout (rolling, renewed in the store) and absolute lifetime, end to end over HTTP with
 * the app's injectable clock (deps.now): no waiting, so the values can stay realistic. Run for
 * each store. An expired session is answered as an ended session: 401 + HX-Redirect for htmx,
 * 302 for a navigation, 401 JSON for a JSON client.
 */
import test from 'ava';
import type { SessionStore } from 'koa-oidc-bff';
import { deleteKeys, redisUrlOrSkip, testRedisStore, uniquePrefix } from '../helpers/redis.ts';
import { startStack, type Stack } from '../helpers/stack.ts';
import { UserAgent } from '../helpers/user-agent.ts';

const IDLE = 60;

interface Clocked {
  stack: Stack;
  /** Real time until the first {@link at}; logins happen then. */
  start: number;
  /** Freezes the app's clock at `seconds` after `start`. */
  at(seconds: number): void;
  close(): Promise<void>;
}

async function clockedStack(absolute: number, env: Record<string, string>, store?: SessionStore): Promise<Clocked> {
  let frozen: number | undefined;
  const stack = await startStack({ env: { SESSION_IDLE_TIMEOUT: String(IDLE), SESSION_ABSOLUTE_TIMEOUT: String(absolute), ...env }, now: () => frozen ?? Date.now(), ...(store ? { store } : {}) });
  const start = Date.now();
  return { stack, start, at: (seconds) => (frozen = start + seconds * 1000), close: () => stack.close() };
}

const json = { 'x-csrf': '1', accept: 'application/json' };

async function sessionInfo(ua: UserAgent): Promise<{ status: number; body: { idleExpiresAt?: number; absoluteExpiresAt?: number; expiresAt?: number; error?: string } }> {
  const response = await ua.http.get(ua.url('/api/session'), { headers: json });
  return { status: response.statusCode, body: JSON.parse(response.body) };
}

/** The three ways an ended session must be answered, one browser each (the first answer clears the cookie). */
async function assertEnded(t: import('ava').ExecutionContext, [htmxUa, navUa, jsonUa]: UserAgent[]): Promise<void> {
  const hx = await htmxUa!.hx('/api/hello', '/profile');
  t.is(hx.statusCode, 401, 'htmx');
  t.is(hx.headers['hx-redirect'], '/login?returnTo=%2Fprofile', 'htmx is re-authenticated, back to its page');
  const nav = await navUa!.http.get(navUa!.url('/profile'));
  t.is(nav.statusCode, 302, 'navigation');
  t.is(nav.headers.location, '/login?returnTo=%2Fprofile');
  const api = await jsonUa!.http.get(jsonUa!.url('/api/hello'), { headers: json });
  t.is(api.statusCode, 401, 'JSON client');
  t.deepEqual(JSON.parse(api.body), { error: 'unauthenticated' });
}

function timeoutTests(name: string, setup: () => Promise<{ env: Record<string, string>; store?: SessionStore; cleanup?: () => Promise<void> }>): void {
  test(`${name}: the idle timeout is renewed by activity and ends an idle session`, async (t) => {
    const { env, store, cleanup } = await setup();
    const c = await clockedStack(300, env, store);
    try {
      const browsers = [new UserAgent(c.stack.appUrl), new UserAgent(c.stack.appUrl), new UserAgent(c.stack.appUrl)];
      for (const ua of browsers) await ua.login('alice', 'alice-password', '/');
      const first = await sessionInfo(browsers[0]!);
      t.is(first.status, 200);
      // Seconds since the epoch; the login took a moment of real time after `start`.
      t.true(first.body.idleExpiresAt! >= Math.floor(c.start / 1000) + IDLE && first.body.idleExpiresAt! <= Date.now() / 1000 + IDLE, 'idleExpiresAt = login + idle timeout');
      t.true(first.body.absoluteExpiresAt! >= Math.floor(c.start / 1000) + 300 && first.body.absoluteExpiresAt! <= Date.now() / 1000 + 300, 'absoluteExpiresAt = login + absolute timeout');

      // Active at 50 s and 100 s: without renewal the session would have ended at 60 s.
      for (const at of [50, 100]) {
        c.at(at);
        for (const ua of browsers) {
          const hello = await ua.hx('/api/hello', '/');
          t.is(hello.statusCode, 200, `active at ${at} s`);
          t.is(hello.headers['set-cookie'], undefined, 'renewed in the store, not by re-sending the cookie');
        }
      }
      const renewed = await sessionInfo(browsers[0]!);
      t.is(renewed.body.idleExpiresAt, Math.floor((c.start + 100_000) / 1000) + IDLE, 'the idle expiry moved with the last activity');
      t.is(renewed.body.absoluteExpiresAt, first.body.absoluteExpiresAt, 'activity never extends the absolute lifetime');

      // Idle for longer than the timeout.
      c.at(100 + IDLE + 5);
      await assertEnded(t, browsers);
    } finally {
      await c.close();
      await cleanup?.();
    }
  });

  test(`${name}: the absolute lifetime ends a session whatever the activity`, async (t) => {
    const { env, store, cleanup } = await setup();
    const absolute = 150;
    const c = await clockedStack(absolute, env, store);
    try {
      const browsers = [new UserAgent(c.stack.appUrl), new UserAgent(c.stack.appUrl), new UserAgent(c.stack.appUrl)];
      for (const ua of browsers) await ua.login('bob', 'bob-password', '/');
      for (const at of [50, 100, absolute - 5]) {
        c.at(at);
        for (const ua of browsers) t.is((await ua.hx('/api/hello', '/')).statusCode, 200, `active at ${at} s`);
      }
      const late = await sessionInfo(browsers[0]!);
      t.is(late.body.idleExpiresAt, late.body.absoluteExpiresAt, 'the idle expiry never goes past the absolute one');
      // Active 35 s ago, so idle-wise alive (idle timeout 60 s); past the absolute lifetime, however long the logins took.
      c.at(absolute + 30);
      await assertEnded(t, browsers);
    } finally {
      await c.close();
      await cleanup?.();
    }
  });
}

timeoutTests('memory', async () => ({ env: { SESSION_STORE: 'memory' } }));
timeoutTests('sqlite', async () => ({ env: { SESSION_STORE: 'sqlite' } }));
const redisUrl = redisUrlOrSkip(test, 'redis session timeouts');
if (redisUrl) {
  timeoutTests('redis', async () => {
    const prefix = uniquePrefix('timeouts');
    const store = await testRedisStore(redisUrl, prefix);
    return {
      env: { SESSION_STORE: 'redis', REDIS_URL: redisUrl },
      store,
      async cleanup() {
        await store.close();
        await deleteKeys(redisUrl, prefix);
      },
    };
  });
}
