/**
 * Redis outages against a throwaway redis-server of this test's own (never the shared one):
 * frozen (SIGSTOP: connections stay open, nothing answers) and killed (SIGKILL: connections
 * refused). Requests that need a session answer 503 within 2 seconds, in the format the client
 * asked for and without HX-Redirect; public pages and /healthz keep answering; /readyz reports the
 * store down; when Redis is back the app recovers by itself, and nothing stored was lost.
 */
import { Writable } from 'node:stream';
import test, { type ExecutionContext } from 'ava';
import { parse } from 'node-html-parser';
import { createLogger } from '../../src/log.ts';
import { createRedisStore } from 'koa-oidc-bff/stores/redis';
import { redisUrlOrSkip } from '../helpers/redis.ts';
import { hasRedisServer, startRedisServer, type RedisServer } from '../helpers/redis-server.ts';
import { startStack, type Stack } from '../helpers/stack.ts';
import { readForm, UserAgent } from '../helpers/user-agent.ts';

// The bound; got aborts a request that takes longer, which fails the test.
const WITHIN = { timeout: { request: 2000 } };

async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`never happened: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Every kind of request that needs a session answers 503 in its own format; the rest keep working. */
async function assertOutage(t: ExecutionContext, stack: Stack, browser: UserAgent, phase: string, pending: Pending): Promise<void> {
  const jsonCall = await browser.http.get(browser.url('/api/hello'), { headers: { 'x-csrf': '1', accept: 'application/json' }, ...WITHIN });
  t.is(jsonCall.statusCode, 503, `${phase}: JSON client`);
  t.is(JSON.parse(jsonCall.body).error, 'ERR_SESSION_STORE_UNAVAILABLE');

  const htmxCall = await browser.http.get(browser.url('/api/hello'), { headers: { 'hx-request': 'true', 'hx-current-url': browser.url('/') }, ...WITHIN });
  t.is(htmxCall.statusCode, 503, `${phase}: htmx`);
  t.is(htmxCall.headers['hx-redirect'], undefined, 'no re-login for an outage');
  t.is(parse(htmxCall.body).querySelector('[data-testid=error]')?.getAttribute('data-code'), 'ERR_SESSION_STORE_UNAVAILABLE');
  t.false(htmxCall.body.includes('<html'), 'a fragment');

  const page = await browser.http.get(browser.url('/profile'), WITHIN);
  t.is(page.statusCode, 503, `${phase}: navigation`);
  t.regex(page.headers['content-type'] ?? '', /text\/html/);
  t.true(page.body.includes('<html'), 'a full page');
  t.is(page.headers.location, undefined);

  t.is((await browser.http.get(browser.url('/api/session'), { headers: { 'x-csrf': '1' }, ...WITHIN })).statusCode, 503, `${phase}: /api/session does not pretend to be logged out`);

  const health = await browser.http.get(browser.url('/healthz'), WITHIN);
  t.is(health.statusCode, 200, `${phase}: /healthz`);
  const ready = await browser.http.get(browser.url('/readyz'), WITHIN);
  t.is(ready.statusCode, 503, `${phase}: /readyz`);
  t.is(JSON.parse(ready.body).checks.store, 'down');

  // Logging out while the session cannot be read must not pretend it worked.
  const logout = await browser.http.post(browser.url('/logout'), { form: pending.logoutForm, headers: { origin: new URL(stack.appUrl).origin }, ...WITHIN });
  t.is(logout.statusCode, 503, `${phase}: logout`);
  t.is(logout.headers['set-cookie'], undefined, 'the cookie is kept');
  // A login that reaches the callback now cannot store its session.
  const callback = await pending.newcomer.http.post(pending.callback.action, { form: pending.callback.fields, headers: { origin: 'null' }, ...WITHIN });
  t.is(callback.statusCode, 503, `${phase}: login callback`);
  t.is(parse(callback.body).querySelector('[data-testid=error]')?.getAttribute('data-code'), 'ERR_SESSION_STORE_UNAVAILABLE');

  const visitor = new UserAgent(stack.appUrl);
  t.is((await visitor.http.get(visitor.url('/'), WITHIN)).statusCode, 200, `${phase}: public page for a visitor`);
  t.is((await browser.http.get(browser.url('/'), WITHIN)).statusCode, 200, `${phase}: public page with a session cookie`);
}

interface Pending {
  /** The logged-in browser's logout form fields (CSRF token). */
  logoutForm: Record<string, string>;
  /** Another browser, stopped at the IdP's form_post page. */
  newcomer: UserAgent;
  callback: { action: string; fields: Record<string, string> };
}

/** Prepared while Redis is up: a logout form and a login stopped just before its callback. */
async function prepare(stack: Stack, browser: UserAgent): Promise<Pending> {
  const logoutForm = readForm((await browser.navigate('/')).body, 'form[action="/logout"]').fields;
  const newcomer = new UserAgent(stack.appUrl);
  const callback = await newcomer.loginUntilCallback('bob', 'bob-password', '/');
  return { logoutForm, newcomer, callback };
}

async function assertRecovered(t: ExecutionContext, browser: UserAgent, phase: string): Promise<void> {
  await eventually(async () => (await browser.http.get(browser.url('/readyz'))).statusCode === 200, `${phase}: /readyz back to 200`);
  const hello = await browser.http.get(browser.url('/api/hello'), { headers: { 'x-csrf': '1', accept: 'application/json' } });
  t.is(hello.statusCode, 200, `${phase}: the same session works again, nothing lost`);
  t.regex(JSON.parse(hello.body).message, /Alice Example/);
}

const url = redisUrlOrSkip(test, 'redis outage');
if (url && !hasRedisServer()) {
  if (process.env.CI === 'true') test('redis outage: redis-server is required under CI', (t) => t.fail('install redis-server'));
  else test.skip('redis outage: skipped, no redis-server binary to start a throwaway server', () => undefined);
}

if (url && hasRedisServer()) {
  test('a frozen or killed Redis gives 503 within 2 s, never a hang or a crash, and the app recovers by itself', async (t) => {
    let server: RedisServer | undefined;
    let stack: Stack | undefined;
    const logLines: string[] = [];
    try {
      server = await startRedisServer();
      const logger = createLogger({ level: 'info', destination: new Writable({ write(chunk, _enc, cb) { logLines.push(String(chunk)); cb(); } }) });
      const store = await createRedisStore(server.url, { prefix: 'outage:', logger });
      stack = await startStack({ env: { SESSION_STORE: 'redis', REDIS_URL: server.url }, store });
      const browser = new UserAgent(stack.appUrl);
      await browser.login('alice', 'alice-password', '/');
      t.is((await browser.hx('/api/hello', '/')).statusCode, 200);
      const frozenPending = await prepare(stack, browser);

      server.freeze();
      await assertOutage(t, stack, browser, 'frozen', frozenPending);
      server.thaw();
      await assertRecovered(t, browser, 'thawed');

      const killedPending = await prepare(stack, browser);
      await server.kill();
      await assertOutage(t, stack, browser, 'killed', killedPending);
      await server.restart();
      await assertRecovered(t, browser, 'restarted');

      const events = logLines.map((l) => JSON.parse(l) as { event?: string });
      t.true(events.some((e) => e.event === 'store.down'), 'the outage is logged');
      t.true(events.some((e) => e.event === 'store.up'), 'and its end');
      t.true(events.filter((e) => e.event === 'store.down').length <= 2, 'once per outage, not once per reconnect attempt');
      await store.close();
    } finally {
      await stack?.close();
      await server?.stop();
    }
  });
}
