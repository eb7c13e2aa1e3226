/**
 * Every page of the demo and of the dev IdP in Chromium (issue 12): at 390, 768 and 1280 px (layout
 * also at 320 and 1440) no horizontal overflow, nothing outside the viewport, no wrapped button label or word broken in a
 * button or table cell; no serious or critical axe-core violation in light and dark; a screenshot
 * of each page at each width in test-results/pages/. Then the behaviours: titles and the active
 * nav item after htmx navigation, focus after a wrong password, "You are signed out" once, Back
 * after login, GET /callback, re-authentication from a "Sessions" click landing on /sessions.
 * One stack and one browser for the file; a fresh context per journey.
 */
import test, { type ExecutionContext } from 'ava';
import type { Browser, Page } from 'playwright-core';
import type { Account } from '../../dev-idp/index.ts';
import { findChromium, launchChromium } from '../helpers/chromium.ts';
import { startStack, type Stack } from '../helpers/stack.ts';
import { Journey } from './harness.ts';
import { axeViolations, EDGE_WIDTHS, layoutAt, screenshot, WIDTHS } from './look.ts';

const ALICE: Account = {
  username: 'alice',
  password: 'alice-password',
  claims: {
    sub: 'e2e-alice-pages',
    name: 'Alice Wonderland-Longname',
    email: 'alice.with.a.rather.long.address@example.test',
    email_verified: true,
    groups: ['staff', 'administrators-of-the-realm'],
    address: { street_address: '1 Long Street', locality: 'Springfield', country: 'Nowhere' },
    updated_at: 1_764_547_200,
  },
};
const CAROL: Account = { username: 'carol', password: 'carol-password', claims: { sub: 'e2e-carol-pages', name: 'Carol', email: 'carol@example.test' } };
const BOB: Account = { username: 'bob', password: 'bob-password', claims: { sub: 'e2e-bob-pages', name: 'Bob', email: 'bob@example.test' } };
const TITLE = 'Koa OIDC BFF';

const chromium = findChromium();
if ('missing' in chromium) {
  if (process.env.CI === 'true') test('page checks need Chromium under CI=true', (t) => t.fail(chromium.missing));
  else test.skip(`page checks skipped: ${chromium.missing}`, () => undefined);
} else {
  let stack: Stack;
  let browser: Browser;
  test.before(async (t) => {
    t.timeout(120_000);
    [stack, browser] = await Promise.all([startStack({ accounts: [ALICE, BOB, CAROL], api: true }), launchChromium(chromium.path)]);
  });
  test.after.always(async () => {
    await browser?.close();
    await stack?.close();
  });

  /** Chromium's console line for an error status of a page the test opened on purpose (a 404 page...). */
  const EXPECTED_ERROR_STATUS = /Failed to load resource: the server responded with a status of (400|401|404|405)/;

  /** Runs `body` with fresh journeys (one per name); fails on console errors, CSP violations or dialogs; saves artifacts on failure. */
  async function withJourneys(t: ExecutionContext, names: string[], body: (...journeys: Journey[]) => Promise<void>): Promise<void> {
    t.timeout(300_000);
    const journeys = await Promise.all(names.map((name) => Journey.open(browser, stack, `pages ${name}`)));
    try {
      await body(...journeys);
      for (const j of journeys) {
        t.deepEqual(j.problems.filter((p) => !EXPECTED_ERROR_STATUS.test(p)), [], `${j.name}: console errors, page errors or CSP violations`);
        t.deepEqual(j.dialogs, [], `${j.name}: dialogs`);
      }
    } catch (err) {
      const files = (await Promise.all(journeys.map((j) => j.saveArtifacts()))).flat();
      t.log(`artifacts: ${files.join(', ')}`);
      throw err;
    } finally {
      await Promise.all(journeys.map((j) => j.close()));
    }
  }

  /** The layout and accessibility checks of the page as it is, at every width and in both schemes, with screenshots. */
  async function check(t: ExecutionContext, page: Page, name: string): Promise<void> {
    for (const width of WIDTHS) {
      t.deepEqual(await layoutAt(page, width), [], `${name} at ${width}px: layout`);
      await screenshot(page, name, width);
      // axe at the narrowest and widest layouts (the header differs), light and dark.
      if (width !== 768) {
        for (const scheme of ['light', 'dark'] as const) t.deepEqual(await axeViolations(page, scheme), [], `${name} at ${width}px, ${scheme}: axe`);
      }
      if (width === 1280) {
        await page.emulateMedia({ colorScheme: 'dark' });
        await screenshot(page, name, width, 'dark');
        await page.emulateMedia({ colorScheme: 'light' });
      }
    }
    for (const width of EDGE_WIDTHS) t.deepEqual(await layoutAt(page, width), [], `${name} at ${width}px: layout`);
    await page.setViewportSize({ width: 1280, height: 900 });
  }

  async function signIn(j: Journey, page: Page, account: Account, start: () => Promise<unknown>): Promise<void> {
    await j.login(page, account, start);
    await page.waitForLoadState('load');
  }

  test.serial('logged out: home, the not-logged-in notice, the login form, a wrong password (focus on the password, username kept)', async (t) => {
    await withJourneys(t, ['logged out'], async (j) => {
      const { page } = j;
      await page.goto(j.app('/'));
      t.is(await page.title(), TITLE);
      await check(t, page, 'home-logged-out');

      await j.callApi(page);
      await page.getByTestId('not-logged-in').waitFor();
      await check(t, page, 'home-not-logged-in');

      const atIdp = page.waitForURL((url) => url.origin === j.idpOrigin && url.pathname.startsWith('/interaction/'));
      await page.getByRole('link', { name: 'Log in', exact: true }).click();
      await atIdp;
      t.regex(await page.title(), /^Sign in · dev-idp$/);
      t.is(await page.evaluate(() => document.activeElement?.id), 'username', 'the username has the focus first');
      t.is(await page.getByLabel('Username').getAttribute('autocomplete'), 'username');
      t.is(await page.getByLabel('Password').getAttribute('autocomplete'), 'current-password');
      await check(t, page, 'idp-login');

      // "Use" fills the form, it does not sign in by itself.
      await page.getByRole('button', { name: 'Use bob' }).click();
      t.is(await page.getByLabel('Username').inputValue(), 'bob');
      t.is(await page.getByLabel('Password').inputValue(), 'bob-password');
      t.true(page.url().includes('/interaction/'), 'still on the login page');

      await page.getByLabel('Username').fill('alice');
      await page.getByLabel('Password').fill('not-the-password');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('alert').waitFor();
      t.is(await page.evaluate(() => document.activeElement?.id), 'password', 'the password has the focus after a wrong password');
      t.is(await page.getByLabel('Username').inputValue(), 'alice', 'the username is kept');
      await check(t, page, 'idp-wrong-password');

      await page.getByLabel('Password').fill(ALICE.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(j.app('/'));
      await page.getByTestId('user-name').waitFor();
    });
  });

  test.serial('logged in: home, API and remote API results, profile, titles and the active nav item after htmx navigation, menu on narrow screens', async (t) => {
    await withJourneys(t, ['logged in'], async (j) => {
      const { page } = j;
      await signIn(j, page, ALICE, () => page.goto(j.app('/login?returnTo=%2F')));
      await check(t, page, 'home-logged-in');

      // Loading state: while the request is held, the button is disabled and shows its spinner.
      let release!: () => void;
      const held = new Promise<void>((resolve) => { release = resolve; });
      await page.route('**/api/hello', async (route) => { await held; await route.continue(); });
      const callApi = page.getByRole('button', { name: 'Call API' });
      await callApi.click();
      await page.waitForFunction(() => document.querySelector('button[hx-get="/api/hello"]')?.classList.contains('htmx-request'));
      t.true(await callApi.isDisabled(), 'disabled while loading');
      t.true(await callApi.locator('.spinner').isVisible(), 'spinner while loading');
      release();
      await page.getByTestId('api-message').waitFor();
      await page.unroute('**/api/hello');
      t.false(await callApi.isDisabled());
      t.false(await callApi.locator('.spinner').isVisible());
      await Promise.all([
        page.waitForResponse((r) => new URL(r.url()).pathname === '/api/remote/hello'),
        page.getByRole('button', { name: 'Call remote API' }).click(),
      ]);
      await page.getByTestId('remote-message').waitFor();
      t.is(await page.locator('#api-result .box.success').count(), 1, 'the API result is styled as a success');
      t.is(await page.locator('#remote-result .box.success').count(), 1);
      await check(t, page, 'home-api-results');

      // htmx navigation: no reload, a new title, the active item moves.
      await page.evaluate(() => { (window as unknown as { marker: number }).marker = 1; });
      await page.getByRole('link', { name: 'Profile' }).click();
      await page.waitForURL(j.app('/profile'));
      await page.locator('#profile').waitFor();
      await page.waitForFunction(() => document.title.startsWith('Profile'));
      t.is(await page.title(), `Profile · ${TITLE}`);
      t.is(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 1, 'an htmx swap, not a page load');
      t.is(await page.getByRole('navigation', { name: 'Main' }).locator('[aria-current="page"]').textContent(), 'Profile');
      t.is(await page.getByTestId('profile-name').textContent(), ALICE.claims.name as string);
      t.is(await page.getByTestId('profile-email').textContent(), ALICE.claims.email as string);
      // Lists, dates with the raw value on hover, protocol claims collapsed.
      t.deepEqual(await page.locator('.claim', { has: page.locator('dt', { hasText: /^groups$/ }) }).locator('li').allTextContents(), ['staff', 'administrators-of-the-realm']);
      t.regex(String(await page.locator('.claim', { has: page.locator('dt', { hasText: /^updated_at$/ }) }).locator('time').getAttribute('title')), /1764547200/);
      t.false(await page.getByTestId('token-details').evaluate((d) => (d as HTMLDetailsElement).open), 'Token details start collapsed');
      t.false(await page.locator('dt', { hasText: /^nonce$/ }).isVisible());
      await check(t, page, 'profile');
      await page.getByText('Token details').click();
      t.true(await page.locator('dt', { hasText: /^nonce$/ }).isVisible());
      await check(t, page, 'profile-token-details');

      await page.getByRole('link', { name: 'Sessions' }).click();
      await page.waitForURL(j.app('/sessions'));
      await page.waitForFunction(() => document.title.startsWith('Your sessions'));
      t.is(await page.getByRole('navigation', { name: 'Main' }).locator('[aria-current="page"]').textContent(), 'Sessions');
      await page.getByRole('link', { name: 'Home' }).click();
      await page.waitForURL(j.app('/'));
      await page.waitForFunction((title) => document.title === title, TITLE);
      t.is(await page.getByRole('navigation', { name: 'Main' }).locator('[aria-current="page"]').textContent(), 'Home');

      // Narrow screens: the header collapses into a menu that holds the navigation and "Log out".
      await page.setViewportSize({ width: 390, height: 900 });
      t.false(await page.getByRole('navigation', { name: 'Main' }).isVisible());
      await page.getByText('Menu', { exact: true }).click();
      await page.getByRole('navigation', { name: 'Menu' }).waitFor();
      t.true(await page.getByRole('button', { name: 'Log out' }).isVisible());
      t.deepEqual(await layoutAt(page, 390), [], 'open menu at 390px: layout');
      await screenshot(page, 'menu-open', 390);
      t.deepEqual(await axeViolations(page, 'dark'), [], 'open menu: axe');
      await page.getByRole('navigation', { name: 'Menu' }).getByRole('link', { name: 'Profile' }).click();
      await page.waitForURL(j.app('/profile'));
      await page.waitForFunction(() => document.title.startsWith('Profile'));
      t.false(await page.getByRole('navigation', { name: 'Menu' }).isVisible(), 'the menu closes after a choice');
    });
  });

  test.serial('sessions with two browsers: the list, the confirmation dialog, ending the other one; re-authentication from a "Sessions" click lands on /sessions', async (t) => {
    await withJourneys(t, ['sessions here', 'sessions there'], async (here, there) => {
      // Carol signs in nowhere else: exactly these two sessions.
      for (const j of [here, there]) await signIn(j, j.page, CAROL, () => j.page.goto(j.app('/login?returnTo=%2F')));
      const page = here.page;
      await page.goto(here.app('/sessions'));
      await page.locator('#sessions tbody tr').nth(1).waitFor();
      t.is(await page.title(), `Your sessions · ${TITLE}`);
      await check(t, page, 'sessions');

      await page.getByRole('button', { name: 'End', exact: true }).click();
      const dialog = page.getByRole('dialog', { name: 'End this session?' });
      await dialog.waitFor();
      t.deepEqual(await layoutAt(page, 390), [], 'confirmation at 390px: layout');
      await screenshot(page, 'sessions-confirm', 390);
      await page.setViewportSize({ width: 1280, height: 900 });
      await screenshot(page, 'sessions-confirm', 1280);
      for (const scheme of ['light', 'dark'] as const) t.deepEqual(await axeViolations(page, scheme), [], `confirmation, ${scheme}: axe`);
      // Cancel ends nothing.
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'hidden' });
      t.is(await page.locator('#sessions tbody tr').count(), 2);
      await page.getByRole('button', { name: 'End', exact: true }).click();
      await dialog.getByRole('button', { name: 'End session' }).click();
      await page.getByTestId('sessions-notice').waitFor();
      t.is(await page.locator('#sessions tbody tr').count(), 1);
      await check(t, page, 'sessions-ended');

      // The other browser, whose session was ended, clicks "Sessions": after logging in again it is on /sessions.
      // Ended from "Sessions", it stays ended: the IdP asks this browser for its password again.
      const again = await there.login(there.page, CAROL, () => there.page.goto(there.app('/profile')).catch(() => undefined));
      t.true(again.askedForPassword, 'an ended session is not restored silently by the IdP');
      await there.page.waitForURL((url) => url.origin === there.appOrigin && url.pathname === '/profile');
      await there.page.locator('#profile').waitFor();
      const id = await there.sessionId();
      await stack.store.destroy(id!);
      await there.login(there.page, CAROL, () => there.page.getByRole('link', { name: 'Sessions' }).click());
      await there.page.waitForURL(there.app('/sessions'));
      await there.page.locator('#sessions').waitFor();
      t.is(new URL(there.page.url()).pathname, '/sessions');
    });
  });

  test.serial('error pages and GET /callback: a proper title, a way back, the same checks', async (t) => {
    await withJourneys(t, ['errors'], async (j) => {
      const { page } = j;
      const notFound = await page.goto(j.app('/no-such-page'));
      t.is(notFound?.status(), 404);
      t.is(await page.title(), `Page not found · ${TITLE}`);
      await check(t, page, 'error-404');

      const callback = await page.goto(j.app('/callback'));
      t.is(callback?.status(), 405);
      t.is(await page.title(), `Nothing to see here · ${TITLE}`);
      t.is(await page.getByRole('link', { name: 'Log in', exact: true }).count(), 2, 'header and page offer to log in');
      t.is(await page.getByTestId('callback-page').getByRole('link', { name: 'Home' }).getAttribute('href'), '/');
      await check(t, page, 'callback-get');

      // A failed login (a callback nobody started): the package's error through the app's look.
      await page.evaluate(() => {
        const form = Object.assign(document.createElement('form'), { method: 'post', action: '/callback' });
        form.append(Object.assign(document.createElement('input'), { type: 'hidden', name: 'state', value: 'x'.repeat(43) }));
        form.append(Object.assign(document.createElement('input'), { type: 'hidden', name: 'code', value: 'abc' }));
        document.body.append(form);
        form.submit();
      });
      await page.getByTestId('error').waitFor();
      t.is(await page.title(), `Login not completed · ${TITLE}`);
      t.is(await page.getByRole('link', { name: 'Try again' }).count(), 1);
      await check(t, page, 'error-login');

      // The dev IdP's page for an interaction it does not know: a way back to the app.
      await page.goto(`${stack.idp.issuer}/interaction/does-not-exist`);
      t.is(await page.title(), 'Sign-in finished · dev-idp');
      t.is(await page.getByRole('link', { name: /^Back to / }).getAttribute('href'), `${stack.appUrl}/`);
      await check(t, page, 'idp-finished');
    });
  });

  test.serial('Back after login leads into the app; log out says "You are signed out" once; the IdP\'s logout confirmation and signed-out pages', async (t) => {
    await withJourneys(t, ['back and logout', 'idp logout'], async (j, other) => {
      const { page } = j;
      await page.goto(j.app('/'));
      await signIn(j, page, ALICE, () => page.getByRole('link', { name: 'Log in', exact: true }).click());
      await page.getByTestId('user-name').waitFor();
      // Back: the finished login at the IdP sends the browser back into the app.
      await page.goBack();
      await page.waitForURL((url) => url.origin === j.appOrigin, { timeout: 15_000 });
      await page.waitForLoadState('load');
      t.is(await page.getByText(/invalid_request|interaction session/).count(), 0);
      await page.goto(j.app('/'));
      await page.getByTestId('user-name').waitFor();

      const leftApp = page.waitForURL((url) => url.origin === j.idpOrigin, { waitUntil: 'commit' });
      await page.getByRole('button', { name: 'Log out' }).click();
      await leftApp;
      await page.waitForURL(j.app('/'));
      await page.getByTestId('signed-out').waitFor();
      t.is(await page.getByTestId('signed-out').textContent().then((s) => s?.trim()), 'You are signed out.');
      await check(t, page, 'signed-out');
      await page.reload();
      await page.locator('#home').waitFor();
      t.is(await page.getByTestId('signed-out').count(), 0, 'the notice shows once');

      // The IdP's own logout confirmation (no id_token_hint) and its signed-out page.
      await signIn(other, other.page, BOB, () => other.page.goto(other.app('/login?returnTo=%2F')));
      await other.page.goto(`${stack.idp.issuer}/session/end?client_id=test-client`);
      await other.page.getByRole('button', { name: 'Yes, sign me out' }).waitFor();
      t.is(await other.page.title(), 'Sign out · dev-idp');
      await check(t, other.page, 'idp-logout-confirm');
      await other.page.getByRole('button', { name: 'Yes, sign me out' }).click();
      await other.page.getByRole('heading', { name: 'Signed out' }).waitFor();
      t.is(await other.page.getByRole('link', { name: /^Back to / }).getAttribute('href'), `${stack.appUrl}/`);
      await check(t, other.page, 'idp-signed-out');
    });
  });
}
