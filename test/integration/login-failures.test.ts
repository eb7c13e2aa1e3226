/**
 * Every bad authorization or token response fails safely (issue 3), driven by a deliberately
 * misbehaving IdP (test/helpers/evil-idp.ts) for both response types, plus the positive cases
 * that prove the harness passes valid logins, clock skew within CLOCK_TOLERANCE, and a signing key
 * rotation (unknown kid -> one JWKS refetch).
 */
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import type { Scenario } from '../helpers/evil-idp.ts';
import { evilLoginUntilCallback, startEvilStack, type EvilStack, type EvilStackOptions } from '../helpers/evil-stack.ts';
import { assertLoginFailed, countingStore, SESSION_COOKIE } from '../helpers/login-assertions.ts';
import { CLIENT_ID } from '../helpers/stack.ts';
import { UserAgent } from '../helpers/user-agent.ts';

// Serial: dozens of short stacks; started all at once on a busy 2-core machine, the first result
// could take longer than ava's inactivity timeout.
const test = anyTest.serial as TestFn;

type Flow = 'code' | 'id_token';
const FLOWS: Flow[] = ['code', 'id_token'];
const nowSeconds = () => Math.floor(Date.now() / 1000);

async function stackFor(t: ExecutionContext, flow: Flow, options: EvilStackOptions = {}): Promise<EvilStack & { store: ReturnType<typeof countingStore> }> {
  const store = countingStore();
  const stack = await startEvilStack({ ...options, store, env: { RESPONSE_TYPE: flow, ...options.env } });
  t.teardown(async () => {
    await stack.close();
    await store.close();
  });
  return Object.assign(stack, { store });
}

/** One login through the evil IdP; returns the callback's answer and the form the IdP posted. */
async function attempt(stack: EvilStack) {
  const ua = new UserAgent(stack.appUrl);
  const form = await evilLoginUntilCallback(ua);
  const res = await ua.postCallback(form);
  return { ua, form, res };
}

async function assertLoggedIn(t: ExecutionContext, stack: EvilStack, result: Awaited<ReturnType<typeof attempt>>): Promise<void> {
  t.is(result.res.statusCode, 303, result.res.body.slice(0, 500));
  t.is(result.res.headers.location, '/');
  const session = await result.ua.http.get(result.ua.url('/api/session'), { headers: { 'x-csrf': '1' }, responseType: 'json' });
  t.is(session.statusCode, 200);
  t.is((session.body as { user: { sub: string } }).user.sub, 'evil-sub-1');
  t.is(stack.logs().filter((l) => l.event === 'login.failed').length, 0);
}

interface Case {
  name: string;
  scenario: () => Scenario;
  code: string;
  status?: 400 | 502;
  flows?: Flow[];
  idp?: EvilStackOptions['idp'];
}

const CASES: Case[] = [
  { name: 'ID token with a bad signature', scenario: () => ({ signing: 'bad-signature' }), code: 'ERR_LOGIN_ID_TOKEN_SIGNATURE' },
  // The IdP even advertises "none"; an unsigned token must still be refused (code flow included).
  { name: 'ID token with alg none', scenario: () => ({ signing: 'none' }), code: 'ERR_LOGIN_ID_TOKEN_ALG' },
  { name: 'ID token signed with a key the JWKS never publishes', scenario: () => ({ signing: 'unpublished-key' }), code: 'ERR_LOGIN_ID_TOKEN_KEY' },
  { name: 'ID token with a wrong iss', scenario: () => ({ claims: { iss: 'https://evil.example' } }), code: 'ERR_LOGIN_ID_TOKEN_ISSUER' },
  { name: 'ID token whose aud is another client', scenario: () => ({ claims: { aud: 'another-client' } }), code: 'ERR_LOGIN_ID_TOKEN_AUDIENCE' },
  { name: 'ID token whose aud list lacks the client', scenario: () => ({ claims: { aud: ['another-client', 'a-third'], azp: 'another-client' } }), code: 'ERR_LOGIN_ID_TOKEN_AUDIENCE' },
  { name: 'ID token with several audiences and no azp', scenario: () => ({ claims: { aud: [CLIENT_ID, 'another-client'] } }), code: 'ERR_LOGIN_ID_TOKEN_AZP' },
  { name: 'ID token with several audiences and another azp', scenario: () => ({ claims: { aud: [CLIENT_ID, 'another-client'], azp: 'another-client' } }), code: 'ERR_LOGIN_ID_TOKEN_AZP' },
  { name: 'expired ID token', scenario: () => ({ claims: { exp: nowSeconds() - 120 } }), code: 'ERR_LOGIN_ID_TOKEN_EXPIRED' },
  { name: 'ID token issued in the future beyond the tolerance', scenario: () => ({ claims: { iat: nowSeconds() + 300 } }), code: 'ERR_LOGIN_ID_TOKEN_IAT' },
  { name: 'ID token not valid before a future time', scenario: () => ({ claims: { nbf: nowSeconds() + 300 } }), code: 'ERR_LOGIN_ID_TOKEN_NOT_YET_VALID' },
  { name: 'ID token without sub', scenario: () => ({ claims: { sub: undefined } }), code: 'ERR_LOGIN_ID_TOKEN_SUB' },
  { name: 'ID token with a wrong nonce', scenario: () => ({ claims: { nonce: 'not-the-nonce-of-this-login' } }), code: 'ERR_LOGIN_NONCE' },
  { name: 'ID token without nonce', scenario: () => ({ claims: { nonce: undefined } }), code: 'ERR_LOGIN_NONCE' },
  { name: 'error=access_denied from the IdP', scenario: () => ({ authorizationError: 'access_denied' }), code: 'ERR_LOGIN_CANCELLED' },
  { name: 'another error from the IdP', scenario: () => ({ authorizationError: 'login_required' }), code: 'ERR_LOGIN_IDP_ERROR' },
  { name: 'RFC 9207 iss parameter of another issuer', scenario: () => ({ issParameter: 'https://evil.example' }), code: 'ERR_LOGIN_ISSUER_MISMATCH' },
  // With id_token the issuer is proven by the ID token itself, so only the code flow requires the parameter.
  { name: 'RFC 9207 iss parameter missing although advertised', scenario: () => ({ issParameter: null }), code: 'ERR_LOGIN_ISSUER_MISMATCH', flows: ['code'] },
  { name: 'token endpoint error JSON (400 invalid_grant)', scenario: () => ({ tokenResponse: { status: 400, body: { error: 'invalid_grant' } } }), code: 'ERR_LOGIN_TOKEN_ENDPOINT', status: 502, flows: ['code'] },
  { name: 'token endpoint 500 with an error body', scenario: () => ({ tokenResponse: { status: 500, body: { error: 'server_error' } } }), code: 'ERR_LOGIN_TOKEN_ENDPOINT', status: 502, flows: ['code'] },
  { name: 'token endpoint 503 HTML page', scenario: () => ({ tokenResponse: { status: 503, body: '<h1>Service Unavailable</h1>' } }), code: 'ERR_LOGIN_TOKEN_ENDPOINT', status: 502, flows: ['code'] },
  { name: 'token endpoint that drops the connection', scenario: () => ({ dropTokenConnection: true }), code: 'ERR_LOGIN_IDP_UNREACHABLE', status: 502, flows: ['code'] },
  { name: 'token endpoint 200 that is not JSON', scenario: () => ({ tokenResponse: { status: 200, body: '<h1>Hello</h1>' } }), code: 'ERR_LOGIN_TOKEN_ENDPOINT', status: 502, flows: ['code'] },
];

for (const flow of FLOWS) {
  test(`${flow}: the evil IdP's valid responses log in (the harness passes good logins)`, async (t) => {
    const stack = await stackFor(t, flow);
    await assertLoggedIn(t, stack, await attempt(stack));
    t.is(stack.store.created, 1);
  });

  for (const c of CASES.filter((x) => !x.flows || x.flows.includes(flow))) {
    test(`${flow}: ${c.name} fails safely with ${c.code}`, async (t) => {
      const stack = await stackFor(t, flow, { scenario: c.scenario(), ...(c.idp ? { idp: c.idp } : {}) });
      const { ua, form, res } = await attempt(stack);
      await assertLoginFailed(t, stack, ua, res, { code: c.code, status: c.status ?? 400, secrets: [form.fields.code!, form.fields.id_token!, form.fields.state!] });
      if (c.code === 'ERR_LOGIN_CANCELLED') t.regex(res.body, /Login cancelled/);
    });
  }

  test(`${flow}: an IdP clock within CLOCK_TOLERANCE is accepted, ahead or behind`, async (t) => {
    const stack = await stackFor(t, flow);
    stack.idp.scenario = { clockOffset: 20 }; // iat 20 s in the future
    await assertLoggedIn(t, stack, await attempt(stack));
    stack.idp.scenario = { clockOffset: -300 - 15, idTokenTtl: 300 }; // expired 15 s ago
    await assertLoggedIn(t, stack, await attempt(stack));
  });

  test(`${flow}: an IdP clock beyond CLOCK_TOLERANCE fails, ahead (iat) or behind (exp)`, async (t) => {
    const ahead = await stackFor(t, flow, { scenario: { clockOffset: 90 } });
    const a = await attempt(ahead);
    await assertLoginFailed(t, ahead, a.ua, a.res, { code: 'ERR_LOGIN_ID_TOKEN_IAT' });
    const behind = await stackFor(t, flow, { scenario: { clockOffset: -300 - 90, idTokenTtl: 300 } });
    const b = await attempt(behind);
    await assertLoginFailed(t, behind, b.ua, b.res, { code: 'ERR_LOGIN_ID_TOKEN_EXPIRED' });
  });

  test(`${flow}: CLOCK_TOLERANCE is the setting that decides`, async (t) => {
    const stack = await stackFor(t, flow, { env: { CLOCK_TOLERANCE: '180' }, scenario: { clockOffset: 90 } });
    await assertLoggedIn(t, stack, await attempt(stack));
  });

  test(`${flow}: after a signing key rotation the JWKS is fetched again once and the login succeeds`, async (t) => {
    let offset = 0;
    const stack = await stackFor(t, flow, { now: () => Date.now() + offset });
    await assertLoggedIn(t, stack, await attempt(stack));
    t.is(stack.idp.stats.jwksRequests, 1);
    // An unknown kid fetches the JWKS again unless that happened in the last 5 seconds.
    offset += 6000;
    await stack.idp.rotateKey();
    await assertLoggedIn(t, stack, await attempt(stack));
    t.is(stack.idp.stats.jwksRequests, 2, 'one refetch for the new kid');
    await assertLoggedIn(t, stack, await attempt(stack));
    t.is(stack.idp.stats.jwksRequests, 2, 'the new JWKS is cached');
  });

  test(`${flow}: unknown kids force at most one JWKS refetch per 5 seconds`, async (t) => {
    let offset = 0;
    const stack = await stackFor(t, flow, { now: () => Date.now() + offset });
    await assertLoggedIn(t, stack, await attempt(stack));
    offset += 6000;
    stack.idp.scenario = { signing: 'unpublished-key' };
    for (let i = 0; i < 3; i++) {
      const { res } = await attempt(stack);
      t.is(res.statusCode, 400);
    }
    t.is(stack.idp.stats.jwksRequests, 2, 'one forced refetch, then none within 5 seconds');
    const reasons = stack.logs().filter((l) => l.event === 'login.failed').map((l) => l.reason);
    t.deepEqual(reasons, ['ERR_LOGIN_ID_TOKEN_KEY', 'ERR_LOGIN_ID_TOKEN_KEY', 'ERR_LOGIN_ID_TOKEN_KEY']);
  });
}

test('a failed login leaves no session even when the browser sends a session cookie of its own', async (t) => {
  const stack = await stackFor(t, 'code');
  const first = await attempt(stack);
  await assertLoggedIn(t, stack, first);
  stack.idp.scenario = { signing: 'bad-signature' };
  const before = (await first.ua.jar.getCookies(stack.appUrl)).filter((c) => SESSION_COOKIE.test(c.key)).map((c) => c.value);
  const form = await evilLoginUntilCallback(first.ua);
  const res = await first.ua.postCallback(form);
  t.is(res.statusCode, 400);
  t.is(stack.store.created, 1, 'no new session');
  // The existing login is left as it was: a forged callback cannot log a user out (or in).
  const after = (await first.ua.jar.getCookies(stack.appUrl)).filter((c) => SESSION_COOKIE.test(c.key)).map((c) => c.value);
  t.deepEqual(after, before);
});
