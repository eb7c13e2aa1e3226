/**
 * `bff.sessions.list/end/endOthers` behind host routes, with several browsers (cookie jars)
 * logged in as the same user and one as another user.
 */
import test from 'ava';
import { sessionIdHash, type AuthEventPayload, type SessionInfo } from 'koa-oidc-bff';
import { Agent } from './helpers/agent.ts';
import { ALICE, BOB, startHost, type Host } from './helpers/host.ts';

let host: Host;
test.before(async () => {
  host = await startHost({
    extend: (router, bff) => {
      router.get('/api/sessions', bff.requireUser(), async (ctx) => { ctx.body = await bff.sessions.list(ctx); });
      router.post('/api/sessions/others/end', bff.requireUser(), async (ctx) => { ctx.body = { ended: await bff.sessions.endOthers(ctx) }; });
      router.post('/api/sessions/:ref/end', bff.requireUser(), async (ctx) => { ctx.body = { result: (await bff.sessions.end(ctx, ctx.params.ref!)) ?? null }; });
    },
  });
});
test.after.always(() => host?.close());

async function list(ua: Agent): Promise<SessionInfo[]> {
  const res = await ua.json('/api/sessions');
  if (res.statusCode !== 200) throw new Error(`/api/sessions answered ${res.statusCode}`);
  return JSON.parse(res.body) as SessionInfo[];
}

async function post(ua: Agent, path: string): Promise<{ status: number; body: unknown }> {
  const res = await ua.json(path, 'POST');
  return { status: res.statusCode, body: JSON.parse(res.body) };
}

/** Logs in a new browser with its own User-Agent. */
async function browser(account: typeof ALICE, name: string): Promise<Agent> {
  const ua = new Agent(host.appUrl, '/login', name);
  await ua.login(account);
  return ua;
}

test.serial('list: the user\'s live sessions, newest first, the current one marked, refs are the session hashes', async (t) => {
  const laptop = await browser(ALICE, 'laptop-browser');
  const phone = await browser(ALICE, 'phone-browser');
  const bob = await browser(BOB, 'bob-browser');
  t.teardown(async () => {
    await host.store.destroyBySub(ALICE.sub);
    await host.store.destroyBySub(BOB.sub);
  });

  const fromPhone = await list(phone);
  t.is(fromPhone.length, 2);
  t.deepEqual(fromPhone.map((s) => s.userAgent), ['phone-browser', 'laptop-browser']);
  t.deepEqual(fromPhone.map((s) => s.current), [true, false]);
  t.is(fromPhone[0]!.ref, sessionIdHash((await phone.cookie('bff.sid'))!));
  t.is(fromPhone[1]!.ref, sessionIdHash((await laptop.cookie('bff.sid'))!));
  for (const s of fromPhone) {
    t.regex(s.ref, /^[A-Za-z0-9_-]{12}$/);
    t.true(s.createdAt <= s.lastSeenAt && s.lastSeenAt < s.idleExpiresAt && s.idleExpiresAt <= s.absoluteExpiresAt);
  }
  // No session id in the answer.
  const raw = (await phone.json('/api/sessions')).body;
  t.false(raw.includes((await phone.cookie('bff.sid'))!));
  t.false(raw.includes((await laptop.cookie('bff.sid'))!));

  const fromLaptop = await list(laptop);
  t.deepEqual(fromLaptop.map((s) => s.current), [false, true]);
  // Bob sees only his own.
  const fromBob = await list(bob);
  t.is(fromBob.length, 1);
  t.is(fromBob[0]!.userAgent, 'bob-browser');

  // Without a session: 401.
  t.is((await new Agent(host.appUrl).json('/api/sessions')).statusCode, 401);
});

test.serial('end: ends another session of the same user (not someone else\'s), or the current one', async (t) => {
  const laptop = await browser(ALICE, 'laptop-browser');
  const phone = await browser(ALICE, 'phone-browser');
  const bob = await browser(BOB, 'bob-browser');
  t.teardown(async () => {
    await host.store.destroyBySub(ALICE.sub);
    await host.store.destroyBySub(BOB.sub);
  });
  const events: AuthEventPayload[] = [];
  const off = host.bff.on('session.ended_by_user', (e) => events.push(e));
  t.teardown(off);

  const phoneRef = (await list(phone)).find((s) => s.current)!.ref;
  const bobRef = (await list(bob))[0]!.ref;

  // Bob's ref is not one of Alice's sessions: nothing happens.
  t.deepEqual(await post(laptop, `/api/sessions/${bobRef}/end`), { status: 200, body: { result: null } });
  t.is((await bob.hx('/api/hello')).statusCode, 200);
  // Malformed and unknown refs neither.
  t.deepEqual(await post(laptop, '/api/sessions/nope/end'), { status: 200, body: { result: null } });
  t.deepEqual(await post(laptop, '/api/sessions/AAAAAAAAAAAA/end'), { status: 200, body: { result: null } });

  t.deepEqual(await post(laptop, `/api/sessions/${phoneRef}/end`), { status: 200, body: { result: 'other' } });
  const ended = await phone.hx('/api/hello', '/page');
  t.is(ended.statusCode, 401);
  t.is(ended.headers['hx-redirect'], '/login?returnTo=%2Fpage');
  t.is((await laptop.hx('/api/hello')).statusCode, 200);
  t.is(events.length, 1);
  t.is(events[0]!.sub, ALICE.sub);
  t.is(events[0]!.sessionHash, phoneRef);
  t.is(events[0]!.bySessionHash, sessionIdHash((await laptop.cookie('bff.sid'))!));

  // Ending the current session is a local logout: the cookie goes with the answer.
  const laptopRef = (await list(laptop))[0]!.ref;
  t.deepEqual(await post(laptop, `/api/sessions/${laptopRef}/end`), { status: 200, body: { result: 'current' } });
  t.is(await laptop.cookie('bff.sid'), undefined);
  t.is((await laptop.json('/api/hello')).statusCode, 401);
  t.is((await bob.hx('/api/hello')).statusCode, 200);
  t.deepEqual(await host.store.listBySub(ALICE.sub, Date.now()), []);
});

test.serial('endOthers: ends every other session of the user, keeps the current one and other users\'', async (t) => {
  const laptop = await browser(ALICE, 'laptop-browser');
  const phone = await browser(ALICE, 'phone-browser');
  const tablet = await browser(ALICE, 'tablet-browser');
  const bob = await browser(BOB, 'bob-browser');
  t.teardown(async () => {
    await host.store.destroyBySub(ALICE.sub);
    await host.store.destroyBySub(BOB.sub);
  });
  t.is((await list(laptop)).length, 3);

  t.deepEqual(await post(laptop, '/api/sessions/others/end'), { status: 200, body: { ended: 2 } });
  t.is((await phone.hx('/api/hello')).statusCode, 401);
  t.is((await tablet.hx('/api/hello')).statusCode, 401);
  t.is((await laptop.hx('/api/hello')).statusCode, 200);
  t.is((await bob.hx('/api/hello')).statusCode, 200);
  const left = await list(laptop);
  t.is(left.length, 1);
  t.true(left[0]!.current);
  // Nothing left to end.
  t.deepEqual(await post(laptop, '/api/sessions/others/end'), { status: 200, body: { ended: 0 } });
});
