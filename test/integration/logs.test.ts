/**
 * Issue 8, "Logs": one JSON line per request (method, path, status, duration in ms, request id
 * also returned as X-Request-Id), one line per authentication event with `sub` and the session id
 * hash, and no token, cookie, secret, authorization code, code_verifier or password in any line
 * (a full login, refresh and logout with the log captured, searched for each of those values).
 */
import test from 'ava';
import { parse } from 'node-html-parser';
import { AUTH_EVENTS } from '../../packages/koa-oidc-bff/src/events.ts';
import { TransactionCodec } from '../../packages/koa-oidc-bff/src/login/transaction.ts';
import { sessionIdHash } from '../../src/log.ts';
import { CLIENT_SECRET, SESSION_SECRET, startStack } from '../helpers/stack.ts';
import { logoutAtIdp, revokeGrant, waitForExpiry } from '../helpers/tokens.ts';
import { UserAgent } from '../helpers/user-agent.ts';

const ALICE = { username: 'alice', password: 'alice-password', sub: 'a1b2c3d4-alice' };
const BOB = { username: 'bob', password: 'bob-password', sub: 'e5f6a7b8-bob' };

test('one line per request: method, path (no query string), status, duration in ms, and the X-Request-Id', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const ua = new UserAgent(stack.appUrl);
  const responses = [await ua.http.get(ua.url('/?q=secret-query')), await ua.http.get(ua.url('/no-such-page')), await ua.http.get(ua.url('/healthz'))];
  const lines = stack.logs().filter((l) => l.msg === 'request');
  t.is(lines.length, 3);
  for (const [i, res] of responses.entries()) {
    const line = lines[i]!;
    t.regex(String(res.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    t.is(line.requestId, res.headers['x-request-id']);
    t.is(line.method, 'GET');
    t.is(line.status, res.statusCode);
    t.is(typeof line.ms, 'number');
    t.is(typeof line.time, 'number');
  }
  t.deepEqual(lines.map((l) => l.path), ['/', '/no-such-page', '/healthz']);
  t.false(stack.logText().includes('secret-query'));
});

test('a full login, API calls, a refresh, a failed refresh, a failed login, logout, back-channel logout and an ended session: one event line each, no secret in any log line', async (t) => {
  // Short-lived access tokens (6 s), refreshed 1 s before expiry, and the dev API as the remote API.
  const stack = await startStack({ logLevel: 'trace', api: true, ttl: { AccessToken: 6 }, env: { TOKEN_REFRESH_SKEW: '1' } });
  t.teardown(() => stack.close());
  const ua = new UserAgent(stack.appUrl);
  const secrets: Record<string, string> = { CLIENT_SECRET, SESSION_SECRET, password: ALICE.password, bobPassword: BOB.password };
  /** Adds a session's tokens (and their JWT parts, so a partial leak is caught too) to the secrets. */
  const addTokens = async (label: string, sid: string) => {
    const data = { ...(await stack.store.get(sid, Date.now()))!.data, ...(await stack.store.getTokens(sid, Date.now())) } as Record<string, string>;
    for (const name of ['idToken', 'accessToken', 'refreshToken', 'csrfSecret']) {
      t.truthy(data[name], `${label} ${name}`);
      secrets[`${label}.${name}`] = data[name]!;
      const [, payload, signature] = name.endsWith('Token') ? data[name]!.split('.') : [];
      if (payload) secrets[`${label}.${name}.payload`] = payload;
      if (signature) secrets[`${label}.${name}.signature`] = signature;
    }
  };

  // Login, stopping at the IdP's form_post page to capture the authorization response.
  const form = await ua.loginUntilCallback(ALICE.username, ALICE.password, '/profile');
  secrets.code = form.fields.code!;
  secrets.state = form.fields.state!;
  const txCookie = await ua.cookie(`bff.tx.${form.fields.state}`);
  t.truthy(txCookie);
  secrets.txCookie = txCookie!;
  // The transaction cookie is encrypted; open it as the app does to learn code_verifier and nonce.
  const tx = await new TransactionCodec([SESSION_SECRET]).open(form.fields.state!, txCookie!);
  t.truthy(tx?.code_verifier);
  secrets.code_verifier = tx!.code_verifier!;
  secrets.nonce = tx!.nonce;
  t.is((await ua.postCallback(form)).statusCode, 303);
  const sid = (await ua.cookie('bff.sid'))!;
  const sig = (await ua.cookie('bff.sid.sig'))!;
  Object.assign(secrets, { sid, sig });
  await addTokens('alice', sid);

  // A second user whose grant the IdP revokes: their next refresh fails.
  const bob = new UserAgent(stack.appUrl);
  await bob.login(BOB.username, BOB.password);
  const bobSid = (await bob.cookie('bff.sid'))!;
  Object.assign(secrets, { bobSid, bobSig: (await bob.cookie('bff.sid.sig'))! });
  await addTokens('bob', bobSid);
  await revokeGrant(stack, bob);

  // Use the app: the profile page, the API, the session endpoint, the remote API with the access token.
  const profile = await ua.navigate('/profile');
  t.is(profile.statusCode, 200);
  const csrf = parse(profile.body).querySelector('form[action="/logout"] input[name="_csrf"]')?.getAttribute('value');
  t.truthy(csrf);
  secrets.csrfToken = csrf!;
  t.is((await ua.hx('/api/hello', '/profile')).statusCode, 200);
  t.is((await ua.http.get(ua.url('/api/session'), { headers: { 'x-csrf': '1' } })).statusCode, 200);
  t.is((await ua.hx('/api/remote/hello', '/profile')).statusCode, 200);

  // The access tokens expire: alice's is refreshed, bob's refresh is refused (grant revoked).
  await waitForExpiry(stack, ua);
  t.is((await ua.hx('/api/remote/hello', '/profile')).statusCode, 200);
  await addTokens('alice.refreshed', sid);
  t.not(secrets['alice.refreshed.accessToken'], secrets['alice.accessToken'], 'a new access token');
  t.is((await bob.hx('/api/remote/hello', '/')).statusCode, 401, 'bob\'s login is over');

  // A replayed authorization response: refused, logged with its reason, the code still not logged.
  t.is((await ua.postCallback(form)).statusCode, 303, 'the same browser lands back on its page');
  const stranger = new UserAgent(stack.appUrl);
  t.is((await stranger.postCallback(form)).statusCode, 400);

  // Logout, then the old cookie comes back: an ended session.
  const logout = await ua.http.post(ua.url('/logout'), { form: { _csrf: csrf! }, headers: { origin: stack.appUrl } });
  t.is(logout.statusCode, 303);
  t.true(logout.headers.location!.startsWith(stack.idp.issuer), 'sent to the IdP end_session_endpoint');
  const returning = new UserAgent(stack.appUrl);
  await returning.jar.setCookie(`bff.sid=${sid}`, stack.appUrl);
  await returning.jar.setCookie(`bff.sid.sig=${sig}`, stack.appUrl);
  const ended = await returning.hx('/api/hello', '/profile');
  t.is(ended.statusCode, 401);
  t.is(ended.headers['hx-redirect'], '/login?returnTo=%2Fprofile');

  // Bob logs in again and logs out at the IdP itself: it tells the app (back-channel logout).
  const bobAgain = new UserAgent(stack.appUrl);
  await bobAgain.login(BOB.username, BOB.password);
  const bobSid2 = (await bobAgain.cookie('bff.sid'))!;
  secrets.bobSid2 = bobSid2;
  await addTokens('bob2', bobSid2);
  await logoutAtIdp(stack, bobAgain);

  // One line per authentication event, with sub and the hash of the session id.
  // Discovery and JWKS downloads belong to the app, not to one request.
  const events = stack.logs().filter((l) => typeof l.event === 'string' && !/^(discovery|jwks)\./.test(String(l.event)));
  const named = (event: string, sub?: string) => events.filter((e) => e.event === event && (sub === undefined || e.sub === sub));
  t.like(named(AUTH_EVENTS.loginSucceeded, ALICE.sub), [{ sessionHash: sessionIdHash(sid), level: 30 }]);
  t.like(named(AUTH_EVENTS.loginSucceeded, BOB.sub), [{ sessionHash: sessionIdHash(bobSid) }, { sessionHash: sessionIdHash(bobSid2) }]);
  t.like(named(AUTH_EVENTS.tokenRefreshed), [{ sub: ALICE.sub, sessionHash: sessionIdHash(sid) }]);
  t.like(named(AUTH_EVENTS.refreshFailed), [{ sub: BOB.sub, sessionHash: sessionIdHash(bobSid), reason: 'ERR_TOKEN_REFRESH_GRANT_GONE', level: 40 }]);
  t.like(named(AUTH_EVENTS.loginFailed), [{ reason: 'ERR_LOGIN_STATE_UNKNOWN', level: 40 }]);
  t.like(named(AUTH_EVENTS.logout), [{ sub: ALICE.sub, sessionHash: sessionIdHash(sid) }]);
  t.like(named(AUTH_EVENTS.sessionExpired), [{ sessionHash: sessionIdHash(sid) }]);
  t.like(named(AUTH_EVENTS.backchannelLogout), [{ sub: BOB.sub, count: 1 }]);
  t.is(named(AUTH_EVENTS.sessionExpired).length, 1, 'bob\'s refresh failure is its own event, not also an expired session');
  for (const e of events.filter((e) => e.event !== AUTH_EVENTS.backchannelLogout && e.event !== AUTH_EVENTS.tokenRefreshed && e.event !== AUTH_EVENTS.refreshFailed)) {
    t.regex(String(e.requestId), /^[0-9a-f-]{36}$/, `${String(e.event)} names its request`);
  }

  // Nothing secret, anywhere in the output.
  const output = stack.logText();
  t.true(output.length > 1000, 'the log captured the run');
  for (const [name, value] of Object.entries(secrets)) {
    t.true(value.length >= 8, `${name} is long enough to search for`);
    t.false(output.includes(value), `${name} appears in the log`);
  }
});
