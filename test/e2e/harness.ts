/**
 * One browser journey: a fresh browser context (its own cookies and storage, like a new profile)
 * on the shared Chromium, with watchers that record what a user would never see but a test must:
 * console errors, uncaught page errors, Content-Security-Policy violations, dialogs, and (on request)
 * every response body the pages received. On failure it saves each page's screenshot and HTML.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, BrowserContext, CDPSession, Page, Response } from 'playwright-core';
import type { Account } from '../../dev-idp/index.ts';
import type { Stack } from '../helpers/stack.ts';

export const RESULTS_DIR = path.resolve('test-results', 'e2e');

/** Generous: other test files share this 2-core machine. */
const ACTION_TIMEOUT = 30_000;

/** Routes the app answers with a redirect only; a browser never stays on them. */
const AUTH_PATHS = new Set(['/login', '/callback', '/logout']);

/** Chromium's own console line for an HTTP error status (not something the page logged). */
const HTTP_STATUS_LOG = /^Failed to load resource: the server responded with a status of (\d{3})/;

export interface Received {
  url: string;
  status: number;
  body: Buffer;
}

export class Journey {
  /** Console errors, page errors and CSP violations, each with the page it happened on. */
  readonly problems: string[] = [];
  /** Messages of alert/confirm/prompt dialogs (all dismissed). */
  readonly dialogs: string[] = [];
  /** Response bodies received by the pages since {@link captureResponses}; failures to read one are kept in {@link unreadable}. */
  readonly received: Received[] = [];
  readonly unreadable: string[] = [];
  #capturing = false;
  readonly appOrigin: string;
  readonly idpOrigin: string;

  /** The first tab. */
  page!: Page;

  private constructor(readonly stack: Stack, readonly context: BrowserContext, readonly name: string) {
    this.appOrigin = new URL(stack.appUrl).origin;
    this.idpOrigin = new URL(stack.idp.issuer).origin;
  }

  /** Opens a new context with one page and every watcher attached. */
  static async open(browser: Browser, stack: Stack, name: string): Promise<Journey> {
    const context = await browser.newContext();
    context.setDefaultTimeout(ACTION_TIMEOUT);
    context.setDefaultNavigationTimeout(ACTION_TIMEOUT);
    const journey = new Journey(stack, context, name);
    // securitypolicyviolation is the page-visible CSP report (CSP3 6.2); the binding runs outside the page's CSP.
    await context.exposeBinding('__e2eReportCsp', ({ page }, text: string) => {
      journey.problems.push(`CSP violation on ${page?.url() ?? '?'}: ${text}`);
    });
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        const report = (window as unknown as { __e2eReportCsp(text: string): Promise<void> }).__e2eReportCsp;
        void report(`${e.effectiveDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}`);
      });
    });
    journey.#watch();
    journey.page = await context.newPage();
    return journey;
  }

  #watch(): void {
    this.context.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      const where = msg.location().url;
      // The not-logged-in notice and HX-Redirect are 401 answers by contract; Chromium logs every 4xx
      // it fetches. Only that browser line for a 401 from the app is expected, nothing else.
      const status = HTTP_STATUS_LOG.exec(msg.text())?.[1];
      if (status === '401' && where.startsWith(`${this.appOrigin}/`)) return;
      this.problems.push(`console error on ${msg.page()?.url() ?? '?'}: ${msg.text()} (${where})`);
    });
    this.context.on('weberror', (err) => this.problems.push(`uncaught error on ${err.page()?.url() ?? '?'}: ${err.error().message}`));
    this.context.on('dialog', (dialog) => {
      this.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
      void dialog.dismiss().catch(() => undefined);
    });
  }

  /**
   * From now on, keeps every response body of every tab. Bodies are read while the browser holds the
   * response (CDP Fetch, response stage): reading them afterwards fails for a page that navigates away
   * at once, such as the IdP's auto-submitting form_post page. Requests still go through Chromium's
   * own network stack and cookie rules.
   */
  async captureResponses(): Promise<void> {
    this.#capturing = true;
    for (const page of this.context.pages()) await this.#capture(page);
  }

  async #capture(page: Page): Promise<void> {
    const cdp = await this.context.newCDPSession(page);
    cdp.on('Fetch.requestPaused', (event) => void this.#keep(cdp, event));
    await cdp.send('Fetch.enable', { patterns: [{ urlPattern: '*', requestStage: 'Response' }] });
  }

  async #keep(cdp: CDPSession, event: { requestId: string; request: { url: string }; responseStatusCode?: number }): Promise<void> {
    const status = event.responseStatusCode ?? 0;
    try {
      // Redirects have no body a page can read.
      if (status < 300 || status >= 400) {
        const { body, base64Encoded } = await cdp.send('Fetch.getResponseBody', { requestId: event.requestId });
        this.received.push({ url: event.request.url, status, body: Buffer.from(body, base64Encoded ? 'base64' : 'utf8') });
      }
    } catch (err) {
      this.unreadable.push(`${event.request.url}: ${(err as Error).message.split('\n')[0]}`);
    } finally {
      await cdp.send('Fetch.continueResponse', { requestId: event.requestId }).catch(() => undefined);
    }
  }

  /** Absolute URL of an app path. */
  app(pathAndQuery: string): string {
    return new URL(pathAndQuery, this.stack.appUrl).href;
  }

  /** Another tab in the same profile (shares cookies). */
  async newPage(): Promise<Page> {
    const page = await this.context.newPage();
    if (this.#capturing) await this.#capture(page);
    return page;
  }

  /**
   * Runs `start` (a click or navigation that should lead to a login), then completes the login:
   * types the account's credentials into the dev-idp's form when it asks, or lets a silent login
   * (the IdP still has a session) go through. Resolves once the page is back on the app.
   * @returns whether the IdP asked for the password.
   */
  async login(page: Page, account: Account, start: () => Promise<unknown>): Promise<{ askedForPassword: boolean }> {
    // Every login passes through an IdP page: its login form, or the auto-submitting form_post page.
    const atIdp = page.waitForURL((url) => url.origin === this.idpOrigin, { waitUntil: 'commit' });
    await start();
    await atIdp;
    await page.waitForURL((url) => this.#isIdpLoginForm(url) || this.#isAppPage(url), { waitUntil: 'commit' });
    const askedForPassword = this.#isIdpLoginForm(new URL(page.url()));
    if (askedForPassword) {
      await page.getByLabel('Username').fill(account.username);
      await page.getByLabel('Password').fill(account.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
    }
    await page.waitForURL((url) => url.origin === this.appOrigin);
    if (new URL(page.url()).pathname === '/callback') {
      const code = await page.getByTestId('error').getAttribute('data-code').catch(() => null);
      throw new Error(`the login failed at /callback with ${code ?? 'no error code'}`);
    }
    return { askedForPassword };
  }

  #isIdpLoginForm(url: URL): boolean {
    return url.origin === this.idpOrigin && url.pathname.startsWith('/interaction/');
  }

  #isAppPage(url: URL): boolean {
    return url.origin === this.appOrigin && !AUTH_PATHS.has(url.pathname);
  }

  /** Clicks "Call API" and waits for its response to be handled; returns that response. */
  async callApi(page: Page): Promise<Response> {
    const [response] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === '/api/hello'),
      page.getByRole('button', { name: 'Call API' }).click(),
    ]);
    return response;
  }

  /** The id of this profile's app session in the store (the session cookie's value), if any. */
  async sessionId(): Promise<string | undefined> {
    const cookies = await this.context.cookies(this.stack.appUrl);
    return cookies.find((c) => c.name === this.stack.app.bff.cookieName)?.value;
  }

  /** Saves a full-page screenshot and the HTML of every open page; returns the file paths. */
  async saveArtifacts(): Promise<string[]> {
    await mkdir(RESULTS_DIR, { recursive: true });
    const base = this.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 80);
    const files: string[] = [];
    for (const [index, page] of this.context.pages().entries()) {
      const stem = path.join(RESULTS_DIR, `${base}-tab${index + 1}`);
      try {
        await page.screenshot({ path: `${stem}.png`, fullPage: true, timeout: 10_000 });
        files.push(path.relative(process.cwd(), `${stem}.png`));
      } catch (err) {
        files.push(`(no screenshot of tab ${index + 1}: ${(err as Error).message.split('\n')[0]})`);
      }
      try {
        await writeFile(`${stem}.html`, `<!-- ${page.url()} -->\n${await page.content()}`);
        files.push(path.relative(process.cwd(), `${stem}.html`));
      } catch (err) {
        files.push(`(no HTML of tab ${index + 1}: ${(err as Error).message.split('\n')[0]})`);
      }
    }
    return files;
  }

  async close(): Promise<void> {
    await this.context.close().catch(() => undefined);
  }
}
