/**
 * Every user journey of the product in headless Chromium (issue 6), registered for one site layout:
 * same-site (dev-idp on localhost) or cross-site (dev-idp on 127.0.0.1, app on localhost, as in
 * production). One dev-idp + app stack and one browser process per layout; a fresh browser context
 * (profile) per journey. Journeys run serially within a layout; the two layouts run in parallel.
 */
import test, { type ExecutionContext } from 'ava';
import type { Browser, Page } from 'playwright-core';
import type { Account } from '../../dev-idp/index.ts';
import { findChromium, launchChromium } from '../helpers/chromium.ts';
import { startStack, type Stack } from '../helpers/stack.ts';
import { Journey } from './harness.ts';

export interface Layout {
  name: 'same-site' | 'cross-site';
  idpHost: 'localhost' | '127.0.0.1';
}

const ALICE: Account = {
  username: 'alice',
  password: 'alice-password',
  claims: { sub: 'e2e-alice', name: 'Alice Browser', email: 'alice@example.test', email_verified: true, groups: ['staff'] },
};
/** A display name that runs script if anything renders it as HTML. */
const HTML_NAME = '<img src=x onerror=alert(1)>';
const MARKUP: Account = {
  username: 'markup',
  password: 'markup-password',
  claims: { sub: 'e2e-markup', name: HTML_NAME, email: 'markup@example.test' },
};

type Body = (t: ExecutionContext, j: Journey) => Promise<void>;

/** Registers the journeys for `layout` in the calling test file. */
export function journeys(layout: Layout): void {
  const chromium = findChromium();
  if ('missing' in chromium) {
    if (process.env.CI === 'true') {
      test('browser journeys need Chromium under CI=true', (t) => t.fail(chromium.missing));
    } else {
      test.skip(`browser journeys skipped: ${chromium.missing}`, () => undefined);
    }
    return;
  }

  let stack: Stack;
  let browser: Browser;
  test.before(async (t) => {
    t.timeout(120_000);
    [stack, browser] = await Promise.all([
      startStack({ idpHost: layout.idpHost, accounts: [ALICE, MARKUP] }),
      launchChromium(chromium.path),
    ]);
  });
  test.after.always(async () => {
    await browser?.close();
    await stack?.close();
  });

  /** A journey: fresh profile, no console errors / CSP violations / dialogs allowed, artifacts on failure. */
  function journey(title: string, body: Body): void {
    test.serial(title, async (t) => {
      t.timeout(120_000);
      const j = await Journey.open(browser, stack, `${layout.name} ${title}`);
      try {
        await body(t, j);
        t.deepEqual(j.problems, [], 'console errors, page errors or CSP violations');
        t.deepEqual(j.dialogs, [], 'dialogs opened');
      } catch (err) {
        const files = await j.saveArtifacts();
        const note = `screenshots and HTML: ${files.join(', ')}`;
        t.log(note);
        // ava assertions have already recorded their failure; other errors carry the note themselves.
        if (err instanceof Error && err.constructor.name !== 'TestFailure') err.message = `${err.message}\n${note}`;
        throw err;
      } finally {
        await j.close();
      }
    });
  }

  /** Logs in from the home page's "Log in" link with the IdP's form; ends on `/`. */
  async function logInFromHome(j: Journey, page: Page, account = ALICE): Promise<void> {
    await page.goto(j.app('/'));
    const { askedForPassword } = await j.login(page, account, () => page.getByRole('link', { name: 'Log in', exact: true }).click());
    if (!askedForPassword) throw new Error('a fresh profile was logged in without its password');
    await page.getByTestId('user-name').waitFor();
  }

  /** "Log out": POST /logout, the IdP's end_session_endpoint (auto-submitted with id_token_hint), back on `/`. */
  async function logOut(j: Journey, page: Page): Promise<void> {
    const leftApp = page.waitForURL((url) => url.origin === j.idpOrigin, { waitUntil: 'commit' });
    await page.getByRole('button', { name: 'Log out' }).click();
    await leftApp;
    await page.waitForURL(j.app('/'));
    await page.getByRole('link', { name: 'Log in', exact: true }).waitFor();
  }

  const signedInAs = (page: Page) => page.getByTestId('user-name').locator('strong');
  /** The value of claim `name` in the profile's list of claims. */
  const claim = (page: Page, name: string) =>
    page.getByTestId('claims').locator(':scope > .claim').filter({ has: page.locator('dt').getByText(name, { exact: true }) }).locator('dd');

  journey('1 logged out, "Call API" shows the not-logged-in notice and no API message', async (t, j) => {
    const { page } = j;
    await page.goto(j.app('/?from=journey1'));
    const response = await j.callApi(page);
    t.is(response.status(), 401);
    t.is(response.headers()['hx-redirect'], undefined);
    const notice = page.locator('#api-result').getByTestId('not-logged-in');
    await notice.waitFor();
    t.is(await notice.getByRole('link', { name: 'Log in now' }).getAttribute('href'), `/login?returnTo=${encodeURIComponent('/?from=journey1')}`);
    t.is(await page.getByTestId('api-message').count(), 0);
    t.is(page.url(), j.app('/?from=journey1'));
  });

  journey('2 logs in with the dev-idp form, calls the API, opens the profile (pushed URL), reload keeps it', async (t, j) => {
    const { page } = j;
    await logInFromHome(j, page);
    t.is(page.url(), j.app('/'));
    t.is(await signedInAs(page).textContent(), 'Alice Browser');

    await j.callApi(page);
    t.regex(await page.getByTestId('api-message').innerText(), /Hello, Alice Browser!/);

    // Fragment swap, not a page load: a value set on the window survives it.
    await page.evaluate(() => { (window as unknown as { e2eMarker: number }).e2eMarker = 1; });
    await page.getByRole('link', { name: 'Profile' }).click();
    await page.locator('#profile').waitFor();
    await page.waitForURL(j.app('/profile'));
    t.is(await page.evaluate(() => (window as unknown as { e2eMarker?: number }).e2eMarker), 1);
    t.is(await claim(page, 'email').textContent(), 'alice@example.test');
    t.is(await claim(page, 'sub').textContent(), 'e2e-alice');

    await page.reload();
    t.is(page.url(), j.app('/profile'));
    await page.locator('#profile').waitFor();
    t.is(await page.evaluate(() => (window as unknown as { e2eMarker?: number }).e2eMarker), undefined);
    t.is(await claim(page, 'email').textContent(), 'alice@example.test');
    t.is(await signedInAs(page).textContent(), 'Alice Browser');
  });

  journey('3 deep link to /profile while logged out lands on /profile after login', async (t, j) => {
    const { page } = j;
    const { askedForPassword } = await j.login(page, ALICE, () => page.goto(j.app('/profile')));
    t.true(askedForPassword);
    t.is(page.url(), j.app('/profile'));
    await page.locator('#profile').waitFor();
    t.is(await signedInAs(page).textContent(), 'Alice Browser');
  });

  journey('4 session ended on the server: "Call API" follows HX-Redirect, logs in again, returns to the page', async (t, j) => {
    const { page } = j;
    await logInFromHome(j, page);
    await page.goto(j.app('/?from=journey4'));
    const id = await j.sessionId();
    t.truthy(id && (await j.stack.store.get(id, Date.now())), 'a live server-side session after login');
    await j.stack.store.destroy(id!);

    let apiResponse: { status: number; hxRedirect: string | undefined } | undefined;
    await j.login(page, ALICE, async () => {
      const response = await j.callApi(page);
      apiResponse = { status: response.status(), hxRedirect: response.headers()['hx-redirect'] };
    });
    t.deepEqual(apiResponse, { status: 401, hxRedirect: `/login?returnTo=${encodeURIComponent('/?from=journey4')}` });
    t.is(page.url(), j.app('/?from=journey4'));
    t.is(await signedInAs(page).textContent(), 'Alice Browser');
    await j.callApi(page);
    t.regex(await page.getByTestId('api-message').innerText(), /Hello, Alice Browser!/);
  });

  journey('5 two tabs start a login at once and both finish logged in', async (t, j) => {
    const first = j.page;
    const second = await j.newPage();
    // Both transactions are pending at the IdP before either is completed.
    await Promise.all([
      first.goto(j.app('/login?returnTo=%2F')),
      second.goto(j.app('/login?returnTo=%2Fprofile')),
    ]);
    await Promise.all([first.getByLabel('Password').waitFor(), second.getByLabel('Password').waitFor()]);
    await Promise.all([
      j.login(first, ALICE, async () => undefined),
      j.login(second, ALICE, async () => undefined),
    ]);
    t.is(first.url(), j.app('/'));
    t.is(second.url(), j.app('/profile'));
    await second.locator('#profile').waitFor();
    for (const page of [first, second]) {
      t.is(await signedInAs(page).textContent(), 'Alice Browser');
      await page.reload();
      t.is(await signedInAs(page).textContent(), 'Alice Browser');
    }
    await j.callApi(first);
    t.regex(await first.getByTestId('api-message').innerText(), /Hello, Alice Browser!/);
  });

  journey('6 log out ends the app and dev-idp sessions; back does not show the profile', async (t, j) => {
    const { page } = j;
    await logInFromHome(j, page);
    await page.getByRole('link', { name: 'Profile' }).click();
    await page.waitForURL(j.app('/profile'));
    await page.locator('#profile').waitFor();
    const id = await j.sessionId();

    await logOut(j, page);
    t.is(await page.getByTestId('user-name').count(), 0);
    t.is(await j.stack.store.get(id!, Date.now()), undefined);
    t.is(await j.sessionId(), undefined);

    // Back through the entries made while logged in (the pushed /profile, then the home page): neither
    // may show the profile or a logged-in page again. Older entries predate the login (the IdP rightly
    // answers 400 for its finished login form).
    for (let step = 1; step <= 2; step++) {
      t.truthy(await page.goBack(), `back step ${step} navigated`);
      await page.waitForLoadState('load');
      t.is(await page.locator('#profile').count(), 0, `back step ${step} (${page.url()}) shows the profile`);
      t.is(await page.getByText('alice@example.test').count(), 0, `back step ${step} (${page.url()}) shows a claim`);
      t.is(await page.getByTestId('user-name').count(), 0, `back step ${step} (${page.url()}) shows a logged-in page`);
    }

    // The IdP session ended too: a new login asks for the password.
    const { askedForPassword } = await j.login(page, ALICE, () => page.goto(j.app('/login?returnTo=%2F')));
    t.true(askedForPassword, 'the dev-idp logged the user in silently after logout');
    t.is(await signedInAs(page).textContent(), 'Alice Browser');
  });

  journey('7 logged in in two tabs, log out in one: the other tab\'s next "Call API" re-authenticates', async (t, j) => {
    const first = j.page;
    await logInFromHome(j, first);
    const second = await j.newPage();
    await second.goto(j.app('/'));
    t.is(await signedInAs(second).textContent(), 'Alice Browser');

    await logOut(j, first);

    let apiStatus: number | undefined;
    const { askedForPassword } = await j.login(second, ALICE, async () => { apiStatus = (await j.callApi(second)).status(); });
    t.is(apiStatus, 401);
    t.true(askedForPassword, 'the dev-idp session should have ended with the logout');
    t.is(second.url(), j.app('/'));
    await j.callApi(second);
    t.regex(await second.getByTestId('api-message').innerText(), /Hello, Alice Browser!/);
  });

  journey('8 only HttpOnly cookies; no token in document.cookie, HTML, storage or any response', async (t, j) => {
    const { page } = j;
    await j.captureResponses();
    await logInFromHome(j, page);
    await j.callApi(page);
    await page.getByRole('link', { name: 'Profile' }).click();
    await page.locator('#profile').waitFor();
    await page.reload();

    const appCookies = await j.context.cookies(j.stack.appUrl);
    t.deepEqual(appCookies.filter((c) => !c.httpOnly).map((c) => c.name), [], 'cookies readable by scripts');
    // On localhost the dev-idp's cookies (devidp_*) are shared across ports; the app's own are the session only.
    const own = appCookies.filter((c) => !c.name.startsWith('devidp_')).map((c) => c.name).sort();
    t.deepEqual(own, [j.stack.app.bff.cookieName, `${j.stack.app.bff.cookieName}.sig`]);
    t.is(await page.evaluate(() => document.cookie), '');

    const data = (await j.stack.store.getTokens((await j.sessionId())!, Date.now())) as { idToken?: string; accessToken?: string; refreshToken?: string } | undefined;
    const tokens = { idToken: data?.idToken, accessToken: data?.accessToken, refreshToken: data?.refreshToken };
    for (const [kind, value] of Object.entries(tokens)) t.true(typeof value === 'string' && value.length > 20, `${kind} kept on the server`);

    const storage = await page.evaluate(() => JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage } }));
    const html = await page.content();
    const responses = j.received;
    // The scan saw the pages that matter: the API answer and the IdP's form_post page (its `code`, never a token).
    t.true(responses.some((r) => r.url.startsWith(`${j.stack.appUrl}/api/hello`)), 'API responses were captured');
    t.true(responses.some((r) => r.url.startsWith(j.idpOrigin) && r.body.includes('/callback')), 'the form_post page was captured');
    t.deepEqual(j.unreadable, [], 'responses whose body could not be read');
    for (const [kind, value] of Object.entries(tokens) as [string, string][]) {
      t.false(html.includes(value), `${kind} in the page HTML`);
      t.false(storage.includes(value), `${kind} in localStorage or sessionStorage`);
      const leaks = responses.filter((r) => r.body.includes(value)).map((r) => r.url);
      t.deepEqual(leaks, [], `${kind} in a response body`);
    }
  });

  journey('9 a display name holding HTML renders as text and runs no script', async (t, j) => {
    const { page } = j;
    await logInFromHome(j, page, MARKUP);
    t.is(await signedInAs(page).textContent(), HTML_NAME);
    t.is(await page.locator('#home h1').textContent(), `Welcome, ${HTML_NAME}`);
    await j.callApi(page);
    t.regex(await page.getByTestId('api-message').innerText(), /Hello, <img src=x onerror=alert\(1\)>!/);
    await page.getByRole('link', { name: 'Profile' }).click();
    await page.locator('#profile').waitFor();
    t.is(await claim(page, 'name').textContent(), HTML_NAME);
    await page.reload();
    t.is(await page.locator('img').count(), 0, 'an <img> element was created from the name');
    await page.waitForLoadState('networkidle');
    // The harness fails the journey on any dialog (alert) or CSP violation an injected handler would cause.
  });

  journey('10 no console errors or CSP violations across the pages, and the watcher does catch one', async (t, j) => {
    const { page } = j;
    await page.goto(j.app('/'));
    await j.callApi(page);
    await logInFromHome(j, page);
    await j.callApi(page);
    await page.getByRole('link', { name: 'Profile' }).click();
    await page.locator('#profile').waitFor();
    await page.reload();
    await page.getByRole('link', { name: 'Koa OIDC BFF' }).click();
    await page.waitForURL(j.app('/'));
    await page.locator('#home').waitFor();
    // Back to the pushed /profile: htmx keeps no history cache (historyCacheSize 0), so it reloads the page.
    await page.goBack();
    await page.locator('#profile').waitFor();
    await page.waitForLoadState('load');
    await page.goForward();
    await page.locator('#home').waitFor();
    await logOut(j, page);
    t.deepEqual(j.problems, []);

    // The watcher is live: an inline script is refused by the app's CSP and reported.
    await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'document.title = "inline ran"';
      document.head.append(script);
    });
    await t.notThrowsAsync(waitUntil(() => j.problems.some((p) => p.startsWith('CSP violation'))));
    t.not(await page.title(), 'inline ran');
    j.problems.length = 0;
  });
}

/** Polls `check` until it holds (for events reported asynchronously by the browser). */
async function waitUntil(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
