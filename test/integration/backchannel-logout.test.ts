/**
 * POST /backchannel-logout (OpenID Connect Back-Channel Logout 1.0) with the real dev-idp: genuine
 * Logout Tokens are sent by the IdP itself (when a user logs out there), or issued by its own
 * code for replay and tampering tests; forged ones are signed with a key of our own.
 */
import test from 'ava';
import got from 'got';
import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { startInstance } from '../helpers/instance.ts';
import { startStack, type Stack } from '../helpers/stack.ts';
import { idpSendsLogout, issueLogoutToken, logoutAtIdp, storedSession } from '../helpers/tokens.ts';
import { UserAgent } from '../helpers/user-agent.ts';

const ALICE = 'a1b2c3d4-alice';
const BOB = 'e5f6a7b8-bob';

async function loggedIn(stack: Stack, username: string): Promise<UserAgent> {
  const ua = new UserAgent(stack.appUrl);
  await ua.login(username, `${username}-password`);
  return ua;
}

/** True while `ua` still has a live app session. */
async function live(ua: UserAgent, base = ua.appUrl): Promise<boolean> {
  const answer = await ua.http.get(`${base}/api/session`, { headers: { 'x-csrf': '1' } });
  return answer.statusCode === 200;
}

/** POSTs a logout_token as an IdP would: a server-to-server form POST, no cookie, no CSRF header. */
function deliver(stack: Stack, form: Record<string, string>, headers: Record<string, string> = {}) {
  return got.post(`${stack.appUrl}/backchannel-logout`, { form, headers, throwHttpErrors: false, retry: { limit: 0 } });
}

test('logging out at the dev-idp (its own page, no id_token_hint) ends the app session at once', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const ua = await loggedIn(stack, 'alice');
  t.is((await ua.hx('/api/hello', '/profile')).statusCode, 200);
  t.truthy((await storedSession(stack, ua))?.sid, 'the session is indexed by the IdP session id');
  const delivered = stack.idp.stats.backchannelLogouts;

  await logoutAtIdp(stack, ua);
  t.is(stack.idp.stats.backchannelLogouts - delivered, 1, 'the app accepted the Logout Token');
  const next = await ua.hx('/api/hello', '/profile');
  t.is(next.statusCode, 401);
  t.is(next.headers['hx-redirect'], '/login?returnTo=%2Fprofile', 'an ended session: re-authenticate and come back');
  t.true(stack.logs().some((l) => l.event === 'logout.backchannel' && l.count === 1 && l.sub === ALICE));
});

test('by sid and by sub: the right sessions end, and only those (two users, two sessions each)', async (t) => {
  const stack = await startStack();
  const second = await startInstance(stack);
  t.teardown(async () => {
    await second.close();
    await stack.close();
  });
  const [alice1, alice2, bob1, bob2] = await Promise.all([loggedIn(stack, 'alice'), loggedIn(stack, 'alice'), loggedIn(stack, 'bob'), loggedIn(stack, 'bob')]);
  const sids = await Promise.all([alice1, alice2].map(async (ua) => (await storedSession(stack, ua))?.sid));
  t.not(sids[0], sids[1], 'two logins, two IdP sessions');

  // By sid: alice logs out at the IdP in her first browser only.
  await logoutAtIdp(stack, alice1);
  t.deepEqual(await Promise.all([alice1, alice2, bob1, bob2].map((ua) => live(ua))), [false, true, true, true]);

  // By sub: the IdP sends a Logout Token for bob without sid; it reaches every session of bob, on every instance.
  await idpSendsLogout(stack, BOB);
  t.deepEqual(await Promise.all([alice2, bob1, bob2].map((ua) => live(ua, second.url))), [true, false, false]);
  t.true(stack.logs().some((l) => l.event === 'logout.backchannel' && l.count === 2 && l.sub === BOB));
});

test('the app\'s own logout: the IdP\'s Logout Token for the already-ended session is answered 200', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const ua = await loggedIn(stack, 'alice');
  const delivered = stack.idp.stats.backchannelLogouts;
  const { final } = await ua.logout();
  t.is(final.url, `${stack.appUrl}/`);
  t.is(stack.idp.stats.backchannelLogouts - delivered, 1);
});

test('a genuine Logout Token works once; replayed, it is refused with 400', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const [alice, bob] = await Promise.all([loggedIn(stack, 'alice'), loggedIn(stack, 'bob')]);
  const sid = (await storedSession(stack, alice))!.sid!;
  const token = await issueLogoutToken(stack, { sub: ALICE, sid });

  // A server-to-server call: no CSRF header, a foreign Origin, no cookie. None of that matters.
  const first = await deliver(stack, { logout_token: token }, { origin: 'https://idp.example.test' });
  t.is(first.statusCode, 200);
  t.is(first.headers['cache-control'], 'no-store');
  t.false(await live(alice));

  // The same token again: refused, and nothing else ends.
  const replay = await deliver(stack, { logout_token: token });
  t.is(replay.statusCode, 400);
  t.is(replay.headers['cache-control'], 'no-store');
  t.like(JSON.parse(replay.body), { error: 'invalid_request' });
  t.true(await live(bob));
  t.true(stack.logs().some((l) => l.event === 'logout.backchannel_rejected' && l.reason === 'replay'));
});

test('a replayed sub-only Logout Token does not end the user\'s newer sessions', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  await loggedIn(stack, 'bob');
  const token = await issueLogoutToken(stack, { sub: BOB });
  t.is((await deliver(stack, { logout_token: token })).statusCode, 200);
  const later = await loggedIn(stack, 'bob');
  t.is((await deliver(stack, { logout_token: token })).statusCode, 400);
  t.true(await live(later));
});

test('tampered, forged or unsigned Logout Tokens are refused with 400 and end nothing', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const [alice, bob] = await Promise.all([loggedIn(stack, 'alice'), loggedIn(stack, 'bob')]);
  const bobSid = (await storedSession(stack, bob))!.sid!;
  const genuine = await issueLogoutToken(stack, { sub: ALICE, sid: (await storedSession(stack, alice))!.sid! });
  const claims = decodeJwt(genuine);
  const [header, , signature] = genuine.split('.');
  const { privateKey } = await generateKeyPair('RS256');

  const bad: Record<string, string> = {
    // The IdP's signature over alice's claims, with bob's sid put in.
    tampered: `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: BOB, sid: bobSid })).toString('base64url')}.${signature}`,
    // Well-formed claims and the IdP's key id, signed by a key that is not the IdP's.
    forged: await new SignJWT({ ...claims, sub: BOB, sid: bobSid, jti: 'forged-1' }).setProtectedHeader({ ...decodeProtectedHeader(genuine), alg: 'RS256' }).sign(privateKey),
    unsigned: new UnsecuredJWT({ ...claims, sub: BOB, sid: bobSid, jti: 'unsigned-1' }).encode(),
    garbage: 'not-a-token',
  };
  for (const [name, token] of Object.entries(bad)) {
    const answer = await deliver(stack, { logout_token: token });
    t.is(answer.statusCode, 400, name);
    t.is(JSON.parse(answer.body).error, 'invalid_request', name);
  }
  t.deepEqual(await Promise.all([alice, bob].map((ua) => live(ua))), [true, true]);
});

test('requests that carry no usable logout_token: 400 JSON; other methods: 405', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const url = `${stack.appUrl}/backchannel-logout`;
  const cases = {
    missing: await deliver(stack, {}),
    repeated: await got.post(url, { body: 'logout_token=a.b.c&logout_token=d.e.f', headers: { 'content-type': 'application/x-www-form-urlencoded' }, throwHttpErrors: false }),
    json: await got.post(url, { json: { logout_token: 'a.b.c' }, throwHttpErrors: false }),
    huge: await deliver(stack, { logout_token: 'x'.repeat(64 * 1024) }),
  };
  for (const [name, answer] of Object.entries(cases)) {
    t.is(answer.statusCode, 400, name);
    t.is(answer.headers['content-type'], 'application/json; charset=utf-8', name);
    t.is(JSON.parse(answer.body).error, 'invalid_request', name);
  }
  t.is((await got.get(url, { throwHttpErrors: false })).statusCode, 405);
});
