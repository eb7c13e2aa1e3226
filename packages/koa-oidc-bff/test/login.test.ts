/**
 * Login through the real dev IdP with a real cookie jar, against the minimal host app:
 * the form_post round trip, the session cookie, the protected API (htmx and JSON),
 * `app.keys` untouched, and the `login.succeeded` event.
 */
import test from 'ava';
import { parse } from 'node-html-parser';
import { sessionIdHash, type AuthEventPayload } from 'koa-oidc-bff';
import { Agent, setCookies } from './helpers/agent.ts';
import { ALICE, CLIENT_ID, discovery, startHost, type Host } from './helpers/host.ts';

let host: Host;
test.before(async () => {
  host = await startHost();
});
test.after.always(() => host?.close());

test.serial('GET /login?returnTo=/x → IdP → form_post → 303 to /x with an HttpOnly session cookie and no token in any cookie', async (t) => {
  const ua = new Agent(host.appUrl);
  const { start, authorize, form } = await ua.loginUntilCallback('/x?y=1', ALICE);

  // The login route sends the browser to the IdP's authorization endpoint: code + PKCE, form_post.
  const metadata = await discovery(host);
  t.is(`${authorize.origin}${authorize.pathname}`, metadata.authorization_endpoint ?? '(no authorization_endpoint)');
  t.is(authorize.searchParams.get('client_id'), CLIENT_ID);
  t.is(authorize.searchParams.get('redirect_uri'), `${host.appUrl}/callback`);
  t.is(authorize.searchParams.get('response_mode'), 'form_post');
  t.is(authorize.searchParams.get('response_type'), 'code');
  t.is(authorize.searchParams.get('code_challenge_method'), 'S256');
  t.truthy(authorize.searchParams.get('state'));
  t.is(start.headers['cache-control'], 'no-store');
  // The IdP's page posts back to the app's callback with the code and the state.
  t.is(form.action, `${host.appUrl}/callback`);
  t.truthy(form.fields.code);
  t.is(form.fields.state, authorize.searchParams.get('state')!);

  const callback = await ua.postCallback(form, authorize.origin);
  t.is(callback.statusCode, 303);
  t.is(callback.headers.location, '/x?y=1');

  const sessionCookies = setCookies(callback).filter((c) => c.startsWith(`${host.bff.cookieName}=`));
  t.is(sessionCookies.length, 1);
  const attributes = sessionCookies[0]!.toLowerCase().split(/;\s*/);
  t.true(attributes.includes('httponly'));
  t.true(attributes.includes('samesite=lax'));
  t.true(attributes.includes('path=/'));
  t.is(host.bff.cookieName, 'bff.sid');

  const sid = await ua.cookie('bff.sid');
  t.truthy(sid);
  t.true(sid!.length < 100);
  t.truthy(await ua.cookie('bff.sid.sig'));
  // The login transaction cookie is gone once the callback took it.
  t.false((await ua.cookies()).some((c) => c.key.startsWith('bff.tx.')));

  // The tokens live in the server-side records only (the session record and, where the store has one, its token record).
  const record = await host.store.get(sid!, Date.now());
  t.truthy(record);
  t.is(record!.sub, ALICE.sub);
  const stored = [...serverSecrets(record!.data), ...serverSecrets(await storedTokens(host, sid!))];
  t.true(stored.some((s) => /^eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+$/.test(s)), 'the ID token is kept on the server');
  const secrets = [...stored, form.fields.code!];
  const everyCookie = [...(await ua.cookies()).map((c) => `${c.key}=${c.value}`), ...setCookies(callback)];
  for (const cookie of everyCookie) {
    t.notRegex(cookie, /eyJ[\w-]+\.eyJ/, 'no JWT in a cookie');
    for (const s of secrets) t.false(cookie.includes(s), `a server-side secret leaked into cookie ${cookie.split('=')[0]}`);
  }
});

/** The string values (16 characters or more) of a stored record: tokens, CSRF secret, login state digest. */
function serverSecrets(data: Record<string, unknown> | undefined): string[] {
  return Object.values(data ?? {}).filter((v): v is string => typeof v === 'string' && v.length >= 16);
}

/** The session's token record, for stores that keep tokens apart from the session record. */
async function storedTokens(h: Host, id: string): Promise<Record<string, unknown> | undefined> {
  const store = h.store as unknown as { getTokens?: (id: string, now: number) => Promise<Record<string, unknown> | undefined> };
  return typeof store.getTokens === 'function' ? store.getTokens(id, Date.now()) : undefined;
}

test.serial('logged in: an htmx call to the protected API answers 200 with a fragment naming the user', async (t) => {
  const ua = new Agent(host.appUrl);
  await ua.login(ALICE);
  const res = await ua.hx('/api/hello', '/page');
  t.is(res.statusCode, 200);
  t.regex(String(res.headers['content-type']), /^text\/html/);
  t.is(parse(res.body).querySelector('#hello')?.text, 'Hello, Alice Example');
});

test.serial('logged in: a JSON call to the protected API answers 200 with the user (display claims only)', async (t) => {
  const ua = new Agent(host.appUrl);
  await ua.login(ALICE);
  const res = await ua.json('/api/hello');
  t.is(res.statusCode, 200);
  t.regex(String(res.headers['content-type']), /^application\/json/);
  t.deepEqual(JSON.parse(res.body), { user: { sub: ALICE.sub, name: ALICE.name, email: ALICE.email } });
  // The package's own session endpoint agrees.
  const session = await ua.json('/api/session');
  t.is(session.statusCode, 200);
  t.deepEqual(JSON.parse(session.body).user, { sub: ALICE.sub, name: ALICE.name, email: ALICE.email });
});

test.serial('app.keys is left untouched: undefined before createBff and after a login', async (t) => {
  t.is(host.keysBefore, undefined);
  const ua = new Agent(host.appUrl);
  await ua.login(ALICE);
  t.is((await ua.hx('/api/hello')).statusCode, 200);
  t.is(host.app.keys as unknown, undefined);
});

test.serial('bff.on("login.succeeded") receives sub and the session hash, never the session id', async (t) => {
  const seen: AuthEventPayload[] = [];
  const all: AuthEventPayload[] = [];
  const off = host.bff.on('login.succeeded', (e) => seen.push(e));
  const offAll = host.bff.on('*', (e) => all.push(e));
  try {
    const ua = new Agent(host.appUrl);
    await ua.login(ALICE);
    const sid = (await ua.cookie('bff.sid'))!;
    t.is(seen.length, 1);
    const event = seen[0]!;
    t.is(event.event, 'login.succeeded');
    t.is(event.sub, ALICE.sub);
    t.regex(event.sessionHash ?? '', /^[A-Za-z0-9_-]{12}$/);
    t.is(event.sessionHash, sessionIdHash(sid));
    t.false('sessionId' in event);
    t.false(JSON.stringify(event).includes(sid));
    t.true(all.some((e) => e.event === 'login.succeeded' && e.sessionHash === event.sessionHash));

    // The function `on` returned removes the listener.
    off();
    await new Agent(host.appUrl).login(ALICE);
    t.is(seen.length, 1);
  } finally {
    off();
    offAll();
  }
});
