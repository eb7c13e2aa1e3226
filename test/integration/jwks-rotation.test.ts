/**
 * The IdP's signing keys, for Logout Tokens and ID tokens alike, with the real dev-idp rotating its
 * keys (its keyRotation hook) and two app instances on one Redis: a newly published key is
 * accepted at once (an unknown kid triggers a download unless one happened in the last 5 s), a
 * kid spray cannot make an instance download the JWKS more than once per 5 s and 12 times a
 * minute, a removed key stops being accepted within 5 minutes, and a Logout Token that could not
 * be checked because the JWKS was unreachable is answered 503 without spending its jti.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import got from 'got';
import { generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import type { RedisSessionStore } from 'koa-oidc-bff/stores/redis';
import { startInstance, type Instance } from '../helpers/instance.ts';
import { newIdpDataDir, restartIdp } from '../helpers/outage.ts';
import { deleteKeys, redisUrlOrSkip, testRedisStore, uniquePrefix } from '../helpers/redis.ts';
import { CLIENT_ID, startStack, type Stack } from '../helpers/stack.ts';
import { issueLogoutToken, storedSession } from '../helpers/tokens.ts';
import { UserAgent } from '../helpers/user-agent.ts';

const url = redisUrlOrSkip(test, 'redis: JWKS rotation across two instances');
const EVENT = { 'http://schemas.openid.net/event/backchannel-logout': {} };

function deliver(base: string, token: string) {
  return got.post(`${base}/backchannel-logout`, { form: { logout_token: token }, throwHttpErrors: false, retry: { limit: 0 } });
}

/** A Logout Token signed with `jwk` (a private key), claiming to come from the stack's IdP. */
async function signedLogoutToken(stack: Stack, jwk: JWK & { kid: string; alg: string }, claims: { sub?: string; sid?: string } = {}): Promise<string> {
  return new SignJWT({ events: EVENT, sub: claims.sub ?? 'nobody', ...(claims.sid ? { sid: claims.sid } : {}) })
    .setProtectedHeader({ alg: jwk.alg, kid: jwk.kid, typ: 'logout+jwt' })
    .setIssuer(stack.idp.issuer).setAudience(CLIENT_ID).setIssuedAt().setJti(randomUUID())
    .sign(await importJWK(jwk, jwk.alg));
}

/** A token signed by a key the IdP never published, under a random kid (a kid spray). */
async function sprayToken(stack: Stack): Promise<string> {
  const { privateKey } = await generateKeyPair('ES256');
  return new SignJWT({ events: EVENT, sub: 'nobody' })
    .setProtectedHeader({ alg: 'ES256', kid: randomUUID(), typ: 'logout+jwt' })
    .setIssuer(stack.idp.issuer).setAudience(CLIENT_ID).setIssuedAt().setJti(randomUUID())
    .sign(privateKey);
}

const fetches = (logs: Record<string, unknown>[], reason?: string) => logs.filter((l) => l.event === 'jwks.fetched' && (reason === undefined || l.reason === reason)).length;

if (url) {
  const prefix = uniquePrefix('jwks');
  test.after.always(() => deleteKeys(url, prefix));

  /** The stack (instance A, with a clock the test may move) and instance B, on one Redis. */
  async function twoInstances(clock?: () => number): Promise<{ a: Stack; b: Instance; store: RedisSessionStore; close(): Promise<void> }> {
    const store = await testRedisStore(url!, prefix);
    const a = await startStack({ env: { SESSION_STORE: 'redis', REDIS_URL: url! }, store, ...(clock ? { now: clock } : {}) });
    const b = await startInstance(a);
    return { a, b, store, async close() { await b.close(); await a.close(); await store.close(); } };
  }

  test.serial('a rotation loses no login and no Logout Token on either instance, even a second rotation within 30 s', async (t) => {
    const { a, b, close } = await twoInstances();
    t.teardown(close);
    const alice = new UserAgent(a.appUrl);
    await alice.login('alice', 'alice-password');
    // Instance B learns the first key set from a genuine Logout Token (bob's).
    const bob = new UserAgent(b.url);
    await bob.login('bob', 'bob-password');
    const bobSid = (await storedSession(a, bob))!.sid!;
    t.is((await deliver(b.url, await issueLogoutToken(a, { sub: 'e5f6a7b8-bob', sid: bobSid }))).statusCode, 200);

    for (const round of [1, 2]) {
      // Past the 5 s in which an unknown kid is taken as genuinely unknown.
      await sleep(5200);
      const [newKid] = await a.idp.keyRotation.rotate();
      const mallory = new UserAgent(a.appUrl);
      const landed = await mallory.login('mallory', 'mallory-password');
      t.is(landed.statusCode, 200, `round ${round}: a login with an ID token signed by the new key`);
      const sid = (await storedSession(a, mallory))!.sid!;
      const token = await issueLogoutToken(a, { sub: (await storedSession(a, mallory))!.sub, sid });
      t.is(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid, newKid, 'signed with the new key');
      const onB = await deliver(b.url, token);
      t.is(onB.statusCode, 200, `round ${round}: instance B accepts a Logout Token signed by the new key`);
    }
    t.true(fetches(a.logs(), 'unknown_kid') >= 2, 'instance A fetched the keys again for each new kid');
    t.is(fetches(b.logs(), 'unknown_kid'), 2, 'instance B too');
  });

  test.serial('a kid spray: one JWKS download per 5 s, at most 12 a minute; then 503 with Retry-After, for Logout Tokens and ID tokens alike', async (t) => {
    let offset = 0;
    const { a, b, close } = await twoInstances(() => Date.now() + offset);
    t.teardown(close);
    const alice = new UserAgent(a.appUrl);
    await alice.login('alice', 'alice-password');
    await sleep(5200);
    const burst = await Promise.all(Array.from({ length: 30 }, async () => deliver(a.appUrl, await sprayToken(a))));
    t.deepEqual([...new Set(burst.map((r) => r.statusCode))], [400], 'unknown keys are refused');
    t.is(fetches(a.logs(), 'unknown_kid'), 1, '30 unknown kids at once: one download');

    // Further apart than 5 s (the app's clock), each unknown kid may download once more, 12 times a minute at most.
    for (let i = 0; i < 11; i++) {
      offset += 6000;
      t.is((await deliver(a.appUrl, await sprayToken(a))).statusCode, 400);
    }
    t.is(fetches(a.logs(), 'unknown_kid'), 12);
    offset += 6000;
    const spent = await deliver(a.appUrl, await sprayToken(a));
    t.is(spent.statusCode, 503, 'budget spent: the token could not be checked');
    t.like(JSON.parse(spent.body), { error: 'temporarily_unavailable' });
    t.true(Number(spent.headers['retry-after']) > 0);
    t.is(fetches(a.logs(), 'unknown_kid'), 12, 'no 13th download');

    // The other instance is not held back by A's spray.
    const [newKid] = await a.idp.keyRotation.rotate();
    const onB = await deliver(b.url, await issueLogoutToken(a, { sub: 'a1b2c3d4-alice', sid: 'not-a-session' }));
    t.is(onB.statusCode, 200, `instance B downloads the new key ${newKid} itself`);

    // On A, an ID token signed with the new key cannot be checked now either: 503, not "invalid".
    const mallory = new UserAgent(a.appUrl);
    const callback = await mallory.loginUntilCallback('mallory', 'mallory-password');
    const failed = await mallory.http.post(callback.action, { form: callback.fields, headers: { accept: 'application/json' } });
    t.is(failed.statusCode, 503);
    t.is(JSON.parse(failed.body).error, 'ERR_LOGIN_IDP_KEYS_UNAVAILABLE');
    t.true(Number(failed.headers['retry-after']) > 0);
  });

  test.serial('a key the IdP removed stops being accepted within 5 minutes', async (t) => {
    let offset = 0;
    const { a, close } = await twoInstances(() => Date.now() + offset);
    t.teardown(close);
    const old = a.idp.keyRotation.keys.find((k) => k.alg === 'RS256')!;
    t.is((await deliver(a.appUrl, await signedLogoutToken(a, old))).statusCode, 200, 'the published key works');
    const before = a.idp.keyRotation.kids;
    await a.idp.keyRotation.rotate();
    a.idp.keyRotation.retire(before);
    t.false(a.idp.keyRotation.kids.includes(old.kid), 'the IdP no longer publishes the old key');

    offset += 4 * 60_000;
    t.is((await deliver(a.appUrl, await signedLogoutToken(a, old))).statusCode, 200, 'within 5 minutes of the download it may still be accepted');
    offset += 60_000;
    const late = await deliver(a.appUrl, await signedLogoutToken(a, old));
    t.is(late.statusCode, 400, '5 minutes after the download, the removed key is refused');
    t.true(a.logs().some((l) => l.event === 'logout.backchannel_rejected' && l.reason === 'signature'));
    t.is(fetches(a.logs(), 'expired'), 1, 'the key set was downloaded again because it was 5 minutes old');
  });

  test.serial('JWKS unreachable: 503 with Retry-After, the jti is not spent, and the retry ends the session', async (t) => {
    const idpDataDir = newIdpDataDir();
    const store = await testRedisStore(url, prefix);
    let offset = 0;
    const stack = await startStack({ env: { SESSION_STORE: 'redis', REDIS_URL: url }, store, idpDataDir, now: () => Date.now() + offset });
    let idp = stack.idp;
    t.teardown(async () => { await stack.close().catch(() => undefined); await idp.close(); await store.close(); });
    const alice = new UserAgent(stack.appUrl);
    await alice.login('alice', 'alice-password');
    const sid = (await storedSession(stack, alice))!.sid!;
    const token = await issueLogoutToken(stack, { sub: 'a1b2c3d4-alice', sid });
    // The key set downloaded at the login is 5 minutes old: it must be downloaded again, and the IdP is down.
    await stack.idp.close();
    offset += 5 * 60_000;
    const down = await deliver(stack.appUrl, token);
    t.is(down.statusCode, 503);
    t.like(JSON.parse(down.body), { error: 'temporarily_unavailable' });
    t.true(Number(down.headers['retry-after']) > 0);
    t.true(stack.logs().some((l) => l.event === 'jwks.fetch_failed'));
    t.is((await alice.http.get(alice.url('/api/session'), { headers: { 'x-csrf': '1' } })).statusCode, 200, 'the session lives on');

    idp = await restartIdp(stack, idpDataDir);
    const retried = await deliver(stack.appUrl, token);
    t.is(retried.statusCode, 200, 'the IdP\'s retry is not a replay');
    t.is((await alice.http.get(alice.url('/api/session'), { headers: { 'x-csrf': '1' } })).statusCode, 401);
  });
}
