/**
 * A failed logout must not leak: when `POST /logout` fails after the redirect to the IdP's
 * end_session_endpoint (which carries the ID token as id_token_hint) was prepared, the error
 * answer carries no Location, HX-Redirect or token. Real dev-idp, real HTTP, the memory store
 * with a fault injected into `destroy` (ending the session fails when the response is committed).
 */
import test from 'ava';
import { createMemoryStore } from 'koa-oidc-bff/stores/memory';
import { faultyStore } from '../helpers/faulty-store.ts';
import { startStack } from '../helpers/stack.ts';
import { storedSession } from '../helpers/tokens.ts';
import { readForm, UserAgent } from '../helpers/user-agent.ts';

test('a logout whose session cannot be ended answers 503 without a Location or HX-Redirect, and never shows the ID token', async (t) => {
  const inner = createMemoryStore();
  const faulty = faultyStore(inner);
  const stack = await startStack({ store: faulty.store });
  t.teardown(async () => { await stack.close(); await inner.close(); });
  const origin = { origin: new URL(stack.appUrl).origin };

  for (const [kind, headers] of [['navigation', {}], ['htmx', { 'hx-request': 'true' }], ['JSON', { accept: 'application/json' }]] as const) {
    const alice = new UserAgent(stack.appUrl);
    await alice.login('alice', 'alice-password');
    const idToken = String((await storedSession(stack, alice))!.data.idToken);
    t.true(idToken.length > 20);
    faulty.failing.add('destroy');
    const form = readForm((await alice.http.get(alice.url('/'))).body, 'form[action="/logout"]');
    const answer = await alice.http.post(alice.url('/logout'), { form: form.fields, headers: { ...origin, ...headers }, followRedirect: false });
    t.is(answer.statusCode, 503, kind);
    t.is(answer.headers.location, undefined, `${kind}: no Location`);
    t.is(answer.headers['hx-redirect'], undefined, `${kind}: no HX-Redirect`);
    const everything = JSON.stringify(answer.headers) + answer.body;
    t.false(everything.includes('id_token_hint'), `${kind}: no id_token_hint`);
    t.false(everything.includes(idToken), `${kind}: no ID token`);
    faulty.failing.clear();
  }
  t.true((faulty.refused.get('destroy') ?? 0) >= 3);

  // Once the store answers, logging out works and goes to the IdP.
  const alice = new UserAgent(stack.appUrl);
  await alice.login('alice', 'alice-password');
  const form = readForm((await alice.http.get(alice.url('/'))).body, 'form[action="/logout"]');
  const out = await alice.http.post(alice.url('/logout'), { form: form.fields, headers: origin, followRedirect: false });
  t.is(out.statusCode, 303);
  t.regex(String(out.headers.location), /id_token_hint=/);
});
