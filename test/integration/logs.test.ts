/**
 * Issue 8, "Logs": one JSON line per request (method, path, status, duration in ms, request id
 * also returned as X-Request-Id), one line per authentication event with `sub` and the session id
 * hash, and no token, cookie, secret, authorization code, code_verifier or password in any line.
 */
import test from 'ava';
import { parse } from 'node-html-parser';
import { AUTH_EVENTS } from '../../src/auth/events.ts';
import { TransactionCodec } from '../../src/auth/transaction.ts';
import { sessionIdHash } from '../../src/log.ts';
import { CLIENT_SECRET, SESSION_SECRET, startStack } from '../helpers/stack.ts';
import { UserAgent } from '../helpers/user-agent.ts';

const ALICE = { username: 'alice', password: 'alice-password', sub: 'a1b2c3d4-alice' };

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

test('a full login, API call, profile, failed login, logout and ended session: one event line each, and no secret in any log line', async (t) => {
  const stack = await startStack({ logLevel: 'trace' });
  t.teardown(() => stack.close());
  const ua = new UserAgent(stack.appUrl);
  const secrets: Record<string, string> = { CLIENT_SECRET, SESSION_SECRET, password: ALICE.password };

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

  const callback = await ua.postCallback(form);
  t.is(callback.statusCode, 303);
  const sid = (await ua.cookie('bff.sid'))!;
  const sig = (await ua.cookie('bff.sid.sig'))!;
  t.truthy(sid);
  t.truthy(sig);
  Object.assign(secrets, { sid, sig });
  const record = await stack.store.get(sid, Date.now());
  const data = record!.data as Record<string, string>;
  for (const name of ['idToken', 'accessToken', 'refreshToken', 'csrfSecret'] as const) {
    t.truthy(data[name], name);
    secrets[name] = data[name]!;
  }
  // JWT parts too, so a partial leak (a payload or a signature alone) is caught as well.
  for (const name of ['idToken', 'accessToken'] as const) {
    const [, payload, signature] = data[name]!.split('.');
    if (payload) secrets[`${name}.payload`] = payload;
    if (signature) secrets[`${name}.signature`] = signature;
  }

  // Use the app: the profile page, the API, the session endpoint.
  const profile = await ua.navigate('/profile');
  t.is(profile.statusCode, 200);
  const csrf = parse(profile.body).querySelector('form[action="/logout"] input[name="_csrf"]')?.getAttribute('value');
  t.truthy(csrf);
  secrets.csrfToken = csrf!;
  t.is((await ua.hx('/api/hello', '/profile')).statusCode, 200);
  t.is((await ua.http.get(ua.url('/api/session'), { headers: { 'x-csrf': '1' } })).statusCode, 200);

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

  // One line per authentication event, with sub and the hash of the session id.
  const events = stack.logs().filter((l) => typeof l.event === 'string' && !String(l.event).startsWith('discovery.'));
  t.deepEqual(events.map((e) => e.event), [AUTH_EVENTS.loginSucceeded, AUTH_EVENTS.loginFailed, AUTH_EVENTS.logout, AUTH_EVENTS.sessionExpired]);
  const [succeeded, failed, loggedOut, expired] = events;
  t.like(succeeded, { sub: ALICE.sub, sessionHash: sessionIdHash(sid), level: 30 });
  t.like(failed, { reason: 'ERR_LOGIN_STATE_UNKNOWN', level: 40 });
  t.like(loggedOut, { sub: ALICE.sub, sessionHash: sessionIdHash(sid) });
  t.like(expired, { sessionHash: sessionIdHash(sid) });
  for (const e of events) t.regex(String(e.requestId), /^[0-9a-f-]{36}$/);

  // Nothing secret, anywhere in the output.
  const output = stack.logText();
  t.true(output.length > 1000, 'the log captured the run');
  for (const [name, value] of Object.entries(secrets)) {
    t.true(value.length >= 8, `${name} is long enough to search for`);
    t.false(output.includes(value), `${name} appears in the log`);
  }
});
