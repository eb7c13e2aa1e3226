/**
 * Step-up in headless Chromium: "End all other sessions" (htmx form) answered 401 + HX-Redirect to
 * a login asking for the dev IdP's second factor; the browser goes through the password and the
 * one-time code page, lands back on "Sessions", and the same button then ends the other session.
 * No console errors (beyond the contract's 401) or CSP violations.
 */
import test from 'ava';
import type { Browser } from 'playwright-core';
import type { Account } from '../../dev-idp/index.ts';
import { findChromium, launchChromium } from '../helpers/chromium.ts';
import { startStack, type Stack } from '../helpers/stack.ts';
import { Journey } from './harness.ts';

const DORA: Account = { username: 'dora', password: 'dora-password', claims: { sub: 'e2e-dora', name: 'Dora Step-up', email: 'dora@example.test' } };
const MFA = 'urn:dev-idp:acr:mfa';

const chromium = findChromium();
if ('missing' in chromium) {
  if (process.env.CI === 'true') test('step-up in a browser needs Chromium under CI=true', (t) => t.fail(chromium.missing));
  else test.skip(`step-up in a browser skipped: ${chromium.missing}`, () => undefined);
} else {
  let stack: Stack;
  let browser: Browser;
  test.before(async (t) => {
    t.timeout(120_000);
    [stack, browser] = await Promise.all([startStack({ accounts: [DORA], env: { STEP_UP_ACR: MFA } }), launchChromium(chromium.path)]);
  });
  test.after.always(async () => {
    await browser?.close();
    await stack?.close();
  });

  test('"End all other sessions" asks for the one-time code, then ends the other session', async (t) => {
    t.timeout(120_000);
    const here = await Journey.open(browser, stack, 'step-up here');
    const there = await Journey.open(browser, stack, 'step-up there');
    try {
      for (const j of [here, there]) {
        await j.login(j.page, DORA, () => j.page.goto(j.app('/login?returnTo=/')));
        await j.page.waitForLoadState();
      }
      const page = here.page;
      await page.goto(here.app('/sessions'));
      await page.locator('#sessions tbody tr').nth(1).waitFor();
      // "End all other sessions" asks first in a <dialog>; its own button posts the form.
      const endOthers = async () => {
        await page.locator('#sessions > .actions').getByRole('button', { name: 'End all other sessions' }).click();
        await page.getByRole('dialog', { name: 'End all other sessions?' }).getByRole('button', { name: 'End all other sessions' }).click();
      };
      const [refused] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/sessions/end-others'),
        endOthers(),
      ]);
      t.is(refused.status(), 401);
      const redirect = new URL(refused.headers()['hx-redirect']!, here.app('/'));
      t.is(redirect.searchParams.get('acr_values'), MFA);
      // htmx follows HX-Redirect: the app's /login, then the IdP asks for the password again.
      await page.waitForURL((url) => url.origin === here.idpOrigin && url.pathname.startsWith('/interaction/'));
      await page.locator('#username').fill(DORA.username);
      await page.locator('#password').fill(DORA.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL((url) => url.pathname.endsWith('/otp'));
      const code = (await page.locator('#otp-code').textContent())!.trim();
      t.regex(code, /^\d{6}$/);
      await page.locator('#otp').fill(code);
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.waitForURL(here.app('/sessions'));
      const rows = page.locator('#sessions tbody tr');
      await rows.nth(1).waitFor();

      const [ended] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/sessions/end-others'),
        endOthers(),
      ]);
      t.is(ended.status(), 200, 'after the second factor the sessions are ended');
      await page.getByTestId('sessions-notice').waitFor();
      const call = await there.callApi(there.page);
      t.is(call.status(), 401, 'the other browser was logged out');
      for (const j of [here, there]) t.deepEqual(j.problems, [], 'console errors, page errors or CSP violations');
    } catch (err) {
      t.log(`artifacts: ${[...(await here.saveArtifacts()), ...(await there.saveArtifacts())].join(', ')}`);
      throw err;
    } finally {
      await here.close();
      await there.close();
    }
  });
}
