/**
 * Issue 13, item 2: the login is stored only under a freshly generated session id, or not at all.
 * A store that fails while the callback ends the browser's previous session (a planted one here)
 * or while it creates the new one answers 503, leaves no session for the user, writes nothing
 * under the old id, sets no session cookie, and revokes the tokens it obtained (RFC 7009). The
 * store is a real memory store wrapped to fail at that one operation; the IdP is the dev IdP.
 */
import test from 'ava';
import got from 'got';
import { StoreUnavailableError, type SessionStore } from 'koa-oidc-bff';

type TokenRecord = Parameters<SessionStore['create']>[1];
import { createMemoryStore } from 'koa-oidc-bff/stores/memory';
import { CLIENT_ID, CLIENT_SECRET, GENEROUS, idpMetadata, startStack, type Stack } from '../helpers/stack.ts';
import { SESSION_COOKIE, setCookies } from '../helpers/login-assertions.ts';
import { UserAgent } from '../helpers/user-agent.ts';

const ALICE = 'a1b2c3d4-alice';
const BOB = 'e5f6a7b8-bob';

/** A memory store whose `destroy` of one id, or next `create`, fails as an unreachable backend would. */
function failingStore() {
  const inner = createMemoryStore();
  const control = { destroyFails: undefined as string | undefined, createFails: false, tokensOfFailedCreate: undefined as TokenRecord | undefined };
  const store: SessionStore = {
    ...inner,
    kind: inner.kind,
    async destroy(id) {
      if (id === control.destroyFails) throw new StoreUnavailableError('memory', new Error('injected failure'));
      return inner.destroy(id);
    },
    async create(record, tokens) {
      if (control.createFails) {
        control.tokensOfFailedCreate = tokens;
        throw new StoreUnavailableError('memory', new Error('injected failure'));
      }
      return inner.create(record, tokens);
    },
  };
  return { store, control };
}

const { store, control } = failingStore();
let stack: Stack;
test.before(async () => {
  stack = await startStack({ env: GENEROUS, store });
});
test.after.always(async () => {
  await stack?.close();
  await store.close();
});

async function whoIs(cookie: string): Promise<string | number> {
  const res = await got(`${stack.appUrl}/api/session`, { headers: { 'x-csrf': '1', accept: 'application/json', cookie }, throwHttpErrors: false, retry: { limit: 0 } });
  return res.statusCode === 200 ? (JSON.parse(res.body) as { user: { sub: string } }).user.sub : res.statusCode;
}

const appCookies = async (ua: UserAgent) => (await ua.jar.getCookies(ua.appUrl)).filter((c) => c.key.startsWith('bff.sid')).map((c) => c.cookieString()).join('; ');

test.serial('the previous (planted) session cannot be destroyed: 503, no session for the user, nothing under the old id', async (t) => {
  const attacker = new UserAgent(stack.appUrl);
  await attacker.login('bob', 'bob-password');
  const planted = await appCookies(attacker);
  const plantedId = (await attacker.cookie('bff.sid'))!;
  const victim = new UserAgent(stack.appUrl);
  for (const pair of planted.split('; ')) await victim.jar.setCookie(`${pair}; Path=/; HttpOnly`, stack.appUrl);

  const form = await victim.loginUntilCallback('alice', 'alice-password', '/profile');
  control.destroyFails = plantedId;
  t.teardown(() => (control.destroyFails = undefined));
  const callback = await victim.http.post(form.action, { form: form.fields, headers: { origin: 'null', accept: 'application/json' } });
  t.is(callback.statusCode, 503, callback.body.slice(0, 300));
  t.is(JSON.parse(callback.body).error, 'ERR_SESSION_STORE_UNAVAILABLE');
  t.deepEqual(await store.listBySub(ALICE, Date.now()), [], 'no session of the victim anywhere');
  const old = await store.get(plantedId, Date.now());
  t.is(old?.sub, BOB, 'the planted id still names only what it named');
  t.is((old?.data.user as { sub?: string } | undefined)?.sub, BOB, 'the login was not written under the old id');
  t.is(await whoIs(planted), BOB, "the attacker's copy never becomes the victim's login");
  t.false(setCookies(callback).some((h) => SESSION_COOKIE.test(h.split('=')[0]!)), 'no session cookie set or cleared (the planted one is not the victim\'s to clear)');
});

test.serial('the new session cannot be created: 503, no session, and the tokens obtained are revoked at the IdP', async (t) => {
  const ua = new UserAgent(stack.appUrl);
  const form = await ua.loginUntilCallback('alice', 'alice-password', '/profile');
  control.createFails = true;
  t.teardown(() => (control.createFails = false));
  const callback = await ua.http.post(form.action, { form: form.fields, headers: { origin: 'null', accept: 'application/json' } });
  t.is(callback.statusCode, 503, callback.body.slice(0, 300));
  t.deepEqual(await store.listBySub(ALICE, Date.now()), [], 'no session');
  const refreshToken = control.tokensOfFailedCreate?.refreshToken;
  t.is(typeof refreshToken, 'string', 'the callback had obtained a refresh token');
  const answer = await got.post((await idpMetadata(stack)).token_endpoint!, {
    form: { grant_type: 'refresh_token', refresh_token: String(refreshToken) },
    username: CLIENT_ID, password: CLIENT_SECRET, throwHttpErrors: false, responseType: 'json',
  });
  t.is(answer.statusCode, 400, 'the refresh token no longer works');
  t.is((answer.body as { error?: string }).error, 'invalid_grant');
  t.false(setCookies(callback).some((h) => SESSION_COOKIE.test(h.split('=')[0]!)), 'no session cookie');
});
