/**
 * Back-channel logout must not burn its Logout Token on a store failure: when ending the sessions
 * fails after the `jti` was recorded, the claim is released and the answer is 503 (Retry-After),
 * so the IdP's retry of the same token succeeds and ends the session. Real dev-idp, real HTTP,
 * the real memory store with a fault injected into `listBySub`, the first step of ending the
 * sessions after the claim (the user's sessions are listed to be tombstoned, then destroyed).
 */
import test from 'ava';
import got from 'got';
import { createMemoryStore } from 'koa-oidc-bff/stores/memory';
import { faultyStore } from '../helpers/faulty-store.ts';
import { startStack } from '../helpers/stack.ts';
import { issueLogoutToken, storedSession } from '../helpers/tokens.ts';
import { UserAgent } from '../helpers/user-agent.ts';

test('a store failure while ending the sessions: 503, the jti is released, the retry ends the session, a replay after that is refused', async (t) => {
  const inner = createMemoryStore();
  const faulty = faultyStore(inner);
  const stack = await startStack({ store: faulty.store });
  t.teardown(async () => { await stack.close(); await inner.close(); });
  const alice = new UserAgent(stack.appUrl);
  await alice.login('alice', 'alice-password');
  const sid = (await storedSession(stack, alice))!.sid!;
  const token = await issueLogoutToken(stack, { sub: 'a1b2c3d4-alice', sid });
  const deliver = () => got.post(`${stack.appUrl}/backchannel-logout`, { form: { logout_token: token }, throwHttpErrors: false, retry: { limit: 0 } });
  const live = async () => (await alice.http.get(alice.url('/api/session'), { headers: { 'x-csrf': '1' } })).statusCode === 200;

  faulty.failing.add('listBySub');
  const failed = await deliver();
  t.is(failed.statusCode, 503, 'the IdP is told to try again');
  t.true(Number(failed.headers['retry-after']) > 0);
  t.like(JSON.parse(failed.body), { error: 'temporarily_unavailable' });
  t.is(faulty.refused.get('listBySub'), 1, 'the jti was claimed, then ending the sessions failed');
  faulty.failing.clear();
  t.true(await live(), 'the session still lives');

  const retried = await deliver();
  t.is(retried.statusCode, 200, 'the retry is not taken for a replay');
  t.false(await live(), 'the retry ended the session');
  t.is((await deliver()).statusCode, 400, 'once it worked, the token is spent');
  t.true(stack.logs().some((l) => l.event === 'logout.backchannel_failed' && l.reason === 'store'));
});
