/**
 * `returnTo` through a full login (issue 3, "Redirects"): GET /login?returnTo=<payload>, the real
 * dev-idp login form, the form_post callback; the callback's redirect must stay on the app's
 * origin: `/` for every unsafe payload, the normalised path for harmless ones.
 */
import anyTest, { type TestFn } from 'ava';
import { RETURN_TO_PAYLOADS } from '../../packages/koa-oidc-bff/test/fixtures/return-to-payloads.ts';
import { GENEROUS, startStack, type Stack } from '../helpers/stack.ts';
import { UserAgent } from '../helpers/user-agent.ts';

// One login after another: 40-odd simultaneous logins on a busy 2-core machine can outlast
// IDP_TIMEOUT and fail for reasons that have nothing to do with returnTo.
const test = anyTest.serial as TestFn;

let stack: Stack;
test.before(async () => {
  stack = await startStack({ env: GENEROUS });
});
test.after.always(async () => {
  await stack?.close();
});

const show = (s: string) => JSON.stringify(s.slice(0, 50)).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

test('at least 20 unsafe payloads are tested', (t) => {
  t.true(RETURN_TO_PAYLOADS.filter(([, expected]) => expected === '/').length >= 20);
});

for (const [payload, expected, why] of RETURN_TO_PAYLOADS) {
  test(`full login with returnTo ${show(payload)} (${why}) lands on ${expected}`, async (t) => {
    const ua = new UserAgent(stack.appUrl);
    const form = await ua.loginUntilCallback('alice', 'alice-password', payload);
    const callback = await ua.postCallback(form);
    t.is(callback.statusCode, 303);
    t.is(callback.headers.location, expected);
    const landing = new URL(callback.headers.location!, stack.appUrl);
    t.is(landing.origin, new URL(stack.appUrl).origin);
    if (expected === '/') {
      const page = await ua.navigate('/');
      t.is(page.statusCode, 200);
      t.regex(page.body, /data-testid="user-name"/, 'logged in and on the home page');
    }
  });
}
