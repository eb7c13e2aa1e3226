/**
 * The refresher of two app instances sharing one store, driven directly (no HTTP between them) so
 * that both ask at the same moment: one takes the store lock and refreshes, the other waits for
 * its result. Real dev-idp, real openid-client, real store.
 */
import test from 'ava';
import { AuthEvents } from '../../packages/koa-oidc-bff/src/events.ts';
import { createOidcClient } from '../../packages/koa-oidc-bff/src/oidc/oidc.ts';
import { createRefresher, tokensOf, type Refresher } from '../../packages/koa-oidc-bff/src/tokens/refresh.ts';
import { silentLogger } from '../../packages/koa-oidc-bff/src/log.ts';
import { startStack, type Stack } from '../helpers/stack.ts';
import { sessionId } from '../helpers/tokens.ts';
import { UserAgent } from '../helpers/user-agent.ts';

/** One more "instance": its own in-process single-flight map, the stack's store and IdP client. */
async function instance(t: import('ava').ExecutionContext, stack: Stack): Promise<Refresher> {
  const oidc = createOidcClient({
    issuer: new URL(stack.idp.issuer), clientId: stack.config.clientId, credentials: { method: 'client_secret_basic', secret: stack.config.clientSecret }, pushedAuthorizationRequests: 'auto', dpop: false,
    responseType: 'code', allowInsecureIssuer: true, clockTolerance: 30, timeout: 5,
  });
  t.teardown(() => oidc.close());
  await oidc.whenReady();
  return createRefresher({
    store: stack.store,
    oidc,
    // Beyond the token lifetime: every token counts as expiring.
    refreshSkew: 3600,
    idpTimeout: 5,
    logger: silentLogger,
    events: new AuthEvents(silentLogger),
    now: Date.now,
  });
}

async function setup(t: import('ava').ExecutionContext) {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const ua = new UserAgent(stack.appUrl);
  await ua.login();
  const id = await sessionId(ua);
  const seen = tokensOf((await stack.store.getTokens(id, Date.now()))!);
  return { stack, id, seen };
}

test('two instances refreshing one session at once: one refresh request, both get the new tokens', async (t) => {
  const { stack, id, seen } = await setup(t);
  const [a, b] = [await instance(t, stack), await instance(t, stack)];
  const before = stack.idp.stats.refreshRequests;

  const [fromA, fromB] = await Promise.all([a.fresh(id, seen), b.fresh(id, seen)]);
  t.is(stack.idp.stats.refreshRequests - before, 1);
  t.is(fromA.accessToken, fromB.accessToken);
  t.not(fromA.refreshToken, seen.refreshToken, 'the dev-idp rotated the refresh token');
  t.deepEqual(tokensOf((await stack.store.getTokens(id, Date.now()))!), fromA, 'the store holds what both returned');

  // A third instance whose request loaded the session before that refresh takes the stored result.
  const stale = await (await instance(t, stack)).fresh(id, seen);
  t.is(stale.accessToken, fromA.accessToken);
  t.is(stack.idp.stats.refreshRequests - before, 1);

  // Asked with the current tokens (still "expiring" with this skew), it refreshes again, with the rotated refresh token.
  const again = await a.fresh(id, fromA);
  t.not(again.accessToken, fromA.accessToken);
  t.is(stack.idp.stats.refreshRequests - before, 2);
});

test('ten callers in one instance share one refresh', async (t) => {
  const { stack, id, seen } = await setup(t);
  const a = await instance(t, stack);
  const before = stack.idp.stats.refreshRequests;
  const results = await Promise.all(Array.from({ length: 10 }, () => a.fresh(id, seen)));
  t.is(stack.idp.stats.refreshRequests - before, 1);
  t.is(new Set(results.map((r) => r.accessToken)).size, 1);
});

test('a session destroyed while waiting ends the waiting caller too', async (t) => {
  const { stack, id, seen } = await setup(t);
  const { refreshLockKey } = await import('../../packages/koa-oidc-bff/src/tokens/refresh.ts');
  const release = (await stack.store.tryLock(refreshLockKey(id), 60_000))!;
  const waiting = (await instance(t, stack)).fresh(id, seen);
  await stack.store.destroy(id);
  const err = await t.throwsAsync(waiting);
  t.is(err?.name, 'SessionEndedError');
  await release();
});
