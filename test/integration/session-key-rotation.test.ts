/**
 * Issue 13, item 3: SESSION_SECRET rotation across app instances on one Redis (a rolling deploy),
 * with an https BASE_URL reached over plain http (TRUST_PROXY=0). A cookie verified with an older
 * key is re-signed with every attribute of the login (expiry at the session's absolute end,
 * SameSite=Lax, Secure, HttpOnly, Path=/), on GET and POST alike. An instance whose keys do not
 * verify a cookie treats it as absent for that request, logs `session.bad_signature` once (no
 * secret, id or signature in the line), and never deletes it, so the user stays logged in on
 * the instances that know the key. `new,old` then `new` keeps everyone who came back in between.
 */
import test from 'ava';
import got from 'got';
import { Cookie } from 'tough-cookie';
import type { RedisSessionStore } from 'koa-oidc-bff/stores/redis';
import { deleteKeys, redisUrlOrSkip, testRedisStore, uniquePrefix } from '../helpers/redis.ts';
import { setCookies } from '../helpers/login-assertions.ts';
import { GENEROUS, listenFirst, startApp, startStack, type Stack } from '../helpers/stack.ts';
import { readForm, UserAgent, type Res } from '../helpers/user-agent.ts';

const url = redisUrlOrSkip(test, 'redis: key rotation across instances');
const OLD = 'rotation-old-session-secret-0123456789abcdef';
const NEW = 'rotation-new-session-secret-0123456789abcdef';
const PUBLIC = 'https://app.example.test';
const NAME = '__Host-Http-bff.sid';
const SIG = `${NAME}.sig`;
const ALICE = 'a1b2c3d4-alice';

const cookiesOf = (res: Res) => new Map(setCookies(res).map((h) => Cookie.parse(h)!).map((c) => [c.key, c]));
const sessionCall = (appUrl: string, cookie: string) => got(`${appUrl}/api/session`, { headers: { 'x-csrf': '1', accept: 'application/json', cookie }, throwHttpErrors: false, retry: { limit: 0 } });

if (url) {
  const prefix = uniquePrefix('rotation');
  const stores: RedisSessionStore[] = [];
  const apps: { close(): Promise<void> }[] = [];
  test.after.always(async () => {
    await Promise.all(apps.map((a) => a.close()));
    await Promise.all(stores.map((s) => s.close()));
    await deleteKeys(url, prefix);
  });

  const env = (secret: string) => ({ ...GENEROUS, BASE_URL: PUBLIC, TRUST_PROXY: '0', SESSION_STORE: 'redis', REDIS_URL: url, SESSION_SECRET: secret });
  async function first(secret: string): Promise<Stack> {
    const store = await testRedisStore(url!, prefix);
    stores.push(store);
    const stack = await startStack({ env: env(secret), store });
    apps.push(stack);
    return stack;
  }
  async function another(beside: Stack, secret: string) {
    const store = await testRedisStore(url!, prefix);
    stores.push(store);
    const { server, port, appUrl } = await listenFirst();
    const app = await startApp(server, port, appUrl, beside.idp.issuer, { env: env(secret), store });
    apps.push(app);
    return app;
  }

  test('rolling rotation: re-signed with every attribute, a foreign signature ignored and logged once but never deleted, nobody logged out before the old key goes', async (t) => {
    const a = await first(OLD);
    const b = await another(a, `${NEW},${OLD}`);
    const ua = new UserAgent(a.appUrl);
    const form = await ua.loginUntilCallback('alice', 'alice-password', '/');
    const callback = await ua.postCallback({ ...form, action: ua.url('/callback') });
    t.is(callback.statusCode, 303, callback.body.slice(0, 300));
    const login = cookiesOf(callback);
    const id = login.get(NAME)!.value;
    const oldSigned = `${NAME}=${id}; ${SIG}=${login.get(SIG)!.value}`;
    const record = (await a.store.get(id, Date.now()))!;

    // B (new,old) verifies with the old key and re-signs with the new one, keeping every attribute.
    const onB = await sessionCall(b.appUrl, oldSigned);
    t.is(onB.statusCode, 200, onB.body.slice(0, 300));
    const resigned = cookiesOf(onB).get(SIG);
    t.truthy(resigned, 're-signed');
    t.false(cookiesOf(onB).has(NAME), 'the id cookie itself is left as it is');
    t.not(resigned!.value, login.get(SIG)!.value);
    for (const [what, c] of [['at login', login.get(SIG)!], ['re-signed', resigned!]] as const) {
      t.is(c.sameSite, 'lax', `${what}: SameSite=Lax`);
      t.true(c.secure, `${what}: Secure`);
      t.true(c.httpOnly, `${what}: HttpOnly`);
      t.is(c.path, '/', `${what}: Path=/`);
      t.is(c.domain, null, `${what}: no Domain`);
      t.true(c.expires instanceof Date, `${what}: persistent (expires with the session), not a browser-session cookie`);
    }
    t.true(Math.abs((resigned!.expires as Date).getTime() - record.absoluteExpiresAt) < 2000, 'the re-signed cookie expires when the session does');
    const newSigned = `${NAME}=${id}; ${SIG}=${resigned!.value}`;

    // Through koa-session (a POST) the same rules: re-signed with the same attributes.
    const page = await got(`${b.appUrl}/`, { headers: { cookie: oldSigned }, throwHttpErrors: false });
    const endOthers = await got.post(`${b.appUrl}/sessions/end-others`, { form: { _csrf: readForm(page.body, 'form[action="/logout"]').fields._csrf }, headers: { cookie: oldSigned, origin: PUBLIC }, throwHttpErrors: false, followRedirect: false });
    t.is(endOthers.statusCode, 303, endOthers.body.slice(0, 300));
    const viaPost = cookiesOf(endOthers).get(SIG);
    t.is(viaPost?.value, resigned!.value);
    t.deepEqual([viaPost?.sameSite, viaPost?.secure, viaPost?.httpOnly, viaPost?.path], ['lax', true, true, '/']);
    t.true(Math.abs((viaPost!.expires as Date).getTime() - record.absoluteExpiresAt) < 2000);

    // A (old only) cannot verify the new signature: absent for the request, not deleted, logged once.
    for (let i = 0; i < 3; i++) {
      const onA = await sessionCall(a.appUrl, newSigned);
      t.is(onA.statusCode, 401);
      t.is(onA.headers['set-cookie'], undefined, 'the cookie is not cleared');
    }
    const post = await got.post(`${a.appUrl}/logout`, { form: {}, headers: { cookie: newSigned, origin: PUBLIC }, throwHttpErrors: false, followRedirect: false });
    t.false(setCookies(post).some((h) => h.startsWith(NAME)), 'nor by a POST through koa-session');
    const bad = a.logs().filter((l) => l.event === 'session.bad_signature');
    t.is(bad.length, 1, 'logged once');
    const line = JSON.stringify(bad);
    for (const secret of [id, resigned!.value, OLD, NEW]) t.false(line.includes(secret), 'no id, signature or secret in the line');
    t.is((await sessionCall(b.appUrl, newSigned)).statusCode, 200, 'still logged in where the key is known');
    t.is((await a.store.get(id, Date.now()))?.sub, ALICE);

    // Step two: the old key removed. Whoever came back in between stays logged in; an old signature no longer works.
    const c = await another(a, NEW);
    const onC = await sessionCall(c.appUrl, newSigned);
    t.is(onC.statusCode, 200);
    t.is(onC.headers['set-cookie'], undefined, 'nothing to re-sign');
    t.is((await sessionCall(c.appUrl, oldSigned)).statusCode, 401);
  });
}
