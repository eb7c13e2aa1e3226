/**
 * Access token refresh against the real dev-idp, which rotates refresh tokens and revokes the whole
 * grant when a used one comes back: a second refresh with a stale token would end the login, so
 * "all calls succeed and the IdP counted one refresh" proves there was no race.
 */
import test from 'ava';
import { parse } from 'node-html-parser';
import { startInstance } from '../helpers/instance.ts';
import { startStack, type Stack } from '../helpers/stack.ts';
import { revokeGrant, storedSession, waitForExpiry } from '../helpers/tokens.ts';
import { UserAgent, type Res } from '../helpers/user-agent.ts';

// Short-lived access tokens, refreshed one second before expiry: the test waits for the old token
// to expire, so a call that used it would be refused by the remote API (502), and the new one
// stays unexpiring for five seconds, longer than the calls take.
const SHORT_TOKENS = { api: true, ttl: { AccessToken: 6 }, env: { TOKEN_REFRESH_SKEW: '1' } } as const;

const remoteSub = (r: Res) => parse(r.body).querySelector('[data-testid="remote-sub"]')?.text;

async function loggedIn(stack: Stack, username = 'alice'): Promise<UserAgent> {
  const ua = new UserAgent(stack.appUrl);
  await ua.login(username, `${username}-password`);
  return ua;
}

test('ten concurrent calls with an expired access token: one refresh at the IdP, all ten succeed with the new token, twice in a row', async (t) => {
  const stack = await startStack(SHORT_TOKENS);
  t.teardown(() => stack.close());
  const ua = await loggedIn(stack);

  for (const round of [1, 2]) {
    const oldToken = await waitForExpiry(stack, ua);
    const refreshesBefore = stack.idp.stats.refreshRequests;
    const answers = await Promise.all(Array.from({ length: 10 }, () => ua.hx('/api/remote/hello', '/')));
    t.deepEqual(answers.map((a) => a.statusCode), Array(10).fill(200), `round ${round}: ${answers.map((a) => a.body).join('\n').slice(0, 500)}`);
    t.true(answers.every((a) => remoteSub(a) === 'a1b2c3d4-alice'), `round ${round}: the remote API saw alice`);
    t.is(stack.idp.stats.refreshRequests - refreshesBefore, 1, `round ${round}: exactly one refresh request`);
    const record = await storedSession(stack, ua);
    t.not(record?.data.accessToken, oldToken, `round ${round}: the new token is stored`);
    // Round 2 spends the refresh token stored by round 1: had any request written back an older
    // one, the dev-idp would see a reused refresh token and revoke the grant.
  }
  t.is(stack.logs().filter((l) => l.event === 'token.refreshed').length, 2);
});

test('two instances sharing one store: ten concurrent calls spread over both refresh once', async (t) => {
  const stack = await startStack(SHORT_TOKENS);
  const second = await startInstance(stack);
  t.teardown(async () => {
    await second.close();
    await stack.close();
  });
  const ua = await loggedIn(stack);

  for (const round of [1, 2]) {
    await waitForExpiry(stack, ua);
    const before = stack.idp.stats.refreshRequests;
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => {
      const base = i % 2 === 0 ? stack.appUrl : second.url;
      return ua.http.get(`${base}/api/remote/hello`, { headers: { 'hx-request': 'true', 'hx-current-url': `${stack.appUrl}/` } });
    }));
    t.deepEqual(answers.map((a) => a.statusCode), Array(10).fill(200), `round ${round}`);
    t.is(stack.idp.stats.refreshRequests - before, 1, `round ${round}: one refresh across both instances`);
  }
});

test('a token that is not about to expire is used as it is', async (t) => {
  const stack = await startStack({ api: true });
  t.teardown(() => stack.close());
  const ua = await loggedIn(stack);
  const before = stack.idp.stats.tokenRequests;
  const answer = await ua.hx('/api/remote/hello', '/');
  t.is(answer.statusCode, 200);
  t.is(stack.idp.stats.tokenRequests, before);
});

test('a revoked grant ends the session: htmx gets 401 with HX-Redirect, the session is gone', async (t) => {
  // A skew beyond the token lifetime: every call refreshes.
  const stack = await startStack({ api: true, env: { TOKEN_REFRESH_SKEW: '3600' } });
  t.teardown(() => stack.close());
  const ua = await loggedIn(stack);
  t.is((await ua.hx('/api/remote/hello', '/')).statusCode, 200, 'refreshing works before the revocation');

  await revokeGrant(stack, ua);
  const answer = await ua.hx('/api/remote/hello', '/profile');
  t.is(answer.statusCode, 401);
  t.is(answer.headers['hx-redirect'], '/login?returnTo=%2Fprofile');
  t.is(await ua.cookie('bff.sid'), undefined, 'the session cookie is cleared');
  t.is((await stack.store.listBySub('a1b2c3d4-alice', Date.now())).length, 0, 'the stored session is destroyed');
  t.true(stack.logs().some((l) => l.event === 'token.refresh_failed' && l.reason === 'ERR_TOKEN_REFRESH_GRANT_GONE'));
});

test('a revoked grant answers a JSON client 401 unauthenticated', async (t) => {
  const stack = await startStack({ api: true, env: { TOKEN_REFRESH_SKEW: '3600' } });
  t.teardown(() => stack.close());
  const ua = await loggedIn(stack);
  await revokeGrant(stack, ua);
  const answer = await ua.http.get(ua.url('/api/remote/hello'), { headers: { accept: 'application/json', 'x-csrf': '1' } });
  t.is(answer.statusCode, 401);
  t.deepEqual(JSON.parse(answer.body), { error: 'unauthenticated' });
});

test('an unreachable IdP during refresh answers 503 and keeps the session', async (t) => {
  const stack = await startStack({ api: false, env: { TOKEN_REFRESH_SKEW: '3600', IDP_TIMEOUT: '2' } });
  t.teardown(() => stack.close());
  const ua = await loggedIn(stack);
  const before = await storedSession(stack, ua);
  await stack.idp.close();

  const answer = await ua.http.get(ua.url('/api/remote/hello'), { headers: { accept: 'application/json', 'x-csrf': '1' } });
  t.is(answer.statusCode, 503);
  t.is(JSON.parse(answer.body).error, 'ERR_TOKEN_REFRESH_UNAVAILABLE');
  const htmx = await ua.hx('/api/remote/hello', '/');
  t.is(htmx.statusCode, 503);
  t.is(htmx.headers['hx-redirect'], undefined);

  const session = await ua.http.get(ua.url('/api/session'), { headers: { 'x-csrf': '1' } });
  t.is(session.statusCode, 200, 'still logged in');
  const after = await storedSession(stack, ua);
  t.is(after?.data.refreshToken, before?.data.refreshToken, 'the tokens are untouched');
});

test('a refresh held by another instance beyond IDP_TIMEOUT answers 503 and keeps the session', async (t) => {
  const stack = await startStack({ api: true, env: { TOKEN_REFRESH_SKEW: '3600', IDP_TIMEOUT: '2' } });
  t.teardown(() => stack.close());
  const ua = await loggedIn(stack);
  const { refreshLockKey } = await import('../../packages/koa-oidc-bff/src/tokens/refresh.ts');
  const id = (await ua.cookie('bff.sid'))!;
  const release = await stack.store.tryLock(refreshLockKey(id), 60_000);
  t.truthy(release);
  const before = stack.idp.stats.refreshRequests;

  const answer = await ua.http.get(ua.url('/api/remote/hello'), { headers: { accept: 'application/json', 'x-csrf': '1' } });
  t.is(answer.statusCode, 503);
  t.is(JSON.parse(answer.body).error, 'ERR_TOKEN_REFRESH_BUSY');
  t.is(stack.idp.stats.refreshRequests, before, 'no refresh behind the holder\'s back');

  await release!();
  t.is((await ua.hx('/api/remote/hello', '/')).statusCode, 200, 'works once the lock is free');
});

test('a slow request that saves its session after another request refreshed does not write the old tokens back', async (t) => {
  // Every call refreshes (skew beyond the token lifetime), so each refresh spends the stored refresh token.
  const stack = await startStack({ api: true, env: { TOKEN_REFRESH_SKEW: '3600' } });
  let entered!: () => void;
  const inside = new Promise<void>((resolve) => (entered = resolve));
  let openGate!: () => void;
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  // On the second instance, a form POST (writes go through koa-session) that loads the session,
  // waits, then changes a field: koa-session saves the session it holds.
  const second = await startInstance(stack, (app) => app.koa.use(async function slowSessionWriter(ctx) {
    if (ctx.path !== '/slow-write') return;
    const session = ctx.session as unknown as Record<string, unknown>;
    entered();
    await gate;
    session.theme = 'dark';
    ctx.body = 'saved';
  }));
  t.teardown(async () => {
    await second.close();
    await stack.close();
  });
  const ua = await loggedIn(stack);
  const loaded = await storedSession(stack, ua);

  const slow = ua.http.post(`${second.url}/slow-write`);
  await inside;
  t.is((await ua.hx('/api/remote/hello', '/')).statusCode, 200, 'a refresh while the slow request holds the old tokens');
  openGate();
  t.is((await slow).statusCode, 200);

  const after = await storedSession(stack, ua);
  t.is(after?.data.theme, 'dark', 'the slow request\'s own change is saved');
  t.not(after?.data.refreshToken, loaded?.data.refreshToken, 'the refreshed tokens stay');
  const before = stack.idp.stats.refreshRequests;
  t.is((await ua.hx('/api/remote/hello', '/')).statusCode, 200, 'the next refresh spends the current refresh token, the grant lives');
  t.is(stack.idp.stats.refreshRequests - before, 1);
});
