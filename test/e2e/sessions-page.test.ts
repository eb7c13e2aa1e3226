/**
 * "Your sessions" in headless Chromium: reached from the header (htmx, address pushed), one
 * session ended with the htmx-enhanced form (the list is replaced in place, no reload), and the
 * other browser's next htmx call is sent to log in again, where the IdP asks for its password
 * (the ended session's tombstone). No console errors or CSP violations.
 */
import test from 'ava';
import type { Browser } from 'playwright-core';
import type { Account } from '../../dev-idp/index.ts';
import { findChromium, launchChromium } from '../helpers/chromium.ts';
import { startStack, type Stack } from '../helpers/stack.ts';
import { Journey } from './harness.ts';

const CAROL: Account = { username: 'carol', password: 'carol-password', claims: { sub: 'e2e-carol', name: 'Carol Sessions', email: 'carol@example.test' } };

const chromium = findChromium();
if ('missing' in chromium) {
  if (process.env.CI === 'true') test('sessions page in a browser needs Chromium under CI=true', (t) => t.fail(chromium.missing));
  else test.skip(`sessions page in a browser skipped: ${chromium.missing}`, () => undefined);
} else {
  let stack: Stack;
  let browser: Browser;
  test.before(async (t) => {
    t.timeout(120_000);
    [stack, browser] = await Promise.all([startStack({ accounts: [CAROL], env: { SESSION_STORE: 'sqlite' } }), launchChromium(chromium.path)]);
  });
  test.after.always(async () => {
    await browser?.close();
    await stack?.close();
  });

  test('end another browser\'s session from "Sessions", in place, and that browser must log in again', async (t) => {
    t.timeout(120_000);
    const here = await Journey.open(browser, stack, 'sessions here');
    const there = await Journey.open(browser, stack, 'sessions there');
    try {
      for (const j of [here, there]) {
        await j.login(j.page, CAROL, () => j.page.goto(j.app('/login?returnTo=/')));
        await j.page.waitForLoadState();
      }
      const page = here.page;
      await page.evaluate(() => ((window as unknown as { marker: string }).marker = 'no reload'));
      await page.getByRole('link', { name: 'Sessions' }).click();
      await page.waitForURL(here.app('/sessions'));
      const rows = page.locator('#sessions tbody tr');
      await t.notThrowsAsync(rows.nth(1).waitFor());
      t.is(await rows.count(), 2);
      t.is(await page.locator('#sessions tr[data-current="true"]').count(), 1);

      // "End" asks first, in a <dialog>; the dialog's "End session" posts the form.
      await page.locator('#sessions tr:not([data-current])').getByRole('button', { name: 'End', exact: true }).click();
      const [ended] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST' && /\/sessions\/[^/]+\/end$/.test(new URL(r.url()).pathname)),
        page.getByRole('dialog', { name: 'End this session?' }).getByRole('button', { name: 'End session' }).click(),
      ]);
      t.is(ended.status(), 200, 'htmx got the refreshed list');
      await page.getByTestId('sessions-notice').waitFor();
      t.is(await rows.count(), 1);
      t.is(await page.evaluate(() => (window as unknown as { marker?: string }).marker), 'no reload', 'replaced in place');

      const call = await there.callApi(there.page);
      t.is(call.status(), 401);
      t.is(call.headers()['hx-redirect'], '/login?returnTo=%2F', 'the ended browser is sent to log in again');
      // htmx follows HX-Redirect to /login by itself: the IdP asks for the password instead of
      // signing the browser in silently (the ended session's tombstone).
      await t.notThrowsAsync(there.page.locator('input#password[type="password"]').waitFor({ timeout: 15_000 }), 'the IdP shows its login form');
      t.not(new URL(there.page.url()).origin, new URL(there.app('/')).origin, 'still at the IdP');
      for (const j of [here, there]) {
        t.deepEqual(j.problems, [], 'console errors, page errors or CSP violations');
        t.deepEqual(j.dialogs, []);
      }
    } catch (err) {
      t.log(`artifacts: ${[...(await here.saveArtifacts()), ...(await there.saveArtifacts())].join(', ')}`);
      throw err;
    } finally {
      await here.close();
      await there.close();
    }
  });
}
