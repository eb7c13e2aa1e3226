/**
 * A small scripted browser for the package tests: one cookie jar (tough-cookie), redirects
 * followed by hand so each hop can be checked, and the real dev IdP login (its login form, its
 * auto-submitting form_post page).
 */
import got, { type Got, type Response } from 'got';
import { parse } from 'node-html-parser';
import { CookieJar, type Cookie } from 'tough-cookie';

export type Res = Response<string>;
export interface Form { action: string; fields: Record<string, string> }

/** The form matched by `selector` in `html`: its action and the values of its named inputs. */
export function readForm(html: string, selector = 'form'): Form {
  const form = parse(html).querySelector(selector);
  if (!form) throw new Error(`no ${selector} in:\n${html.slice(0, 1500)}`);
  const fields: Record<string, string> = {};
  for (const input of form.querySelectorAll('input')) {
    const name = input.getAttribute('name');
    if (name) fields[name] = input.getAttribute('value') ?? '';
  }
  return { action: form.getAttribute('action') ?? '', fields };
}

export const isRedirect = (res: Res) => res.statusCode >= 300 && res.statusCode < 400 && Boolean(res.headers.location);

/** Every `Set-Cookie` header of a response. */
export const setCookies = (res: Res): string[] => res.headers['set-cookie'] ?? [];

export class Agent {
  readonly jar = new CookieJar();
  /** How many one-time-code pages (the dev IdP's second factor) this browser went through. */
  otpPages = 0;
  readonly http: Got;

  constructor(readonly appUrl: string, readonly loginPath = '/login', userAgent = 'koa-oidc-bff-tests/1.0') {
    this.http = got.extend({ cookieJar: this.jar, followRedirect: false, throwHttpErrors: false, retry: { limit: 0 }, headers: { 'user-agent': userAgent } });
  }

  url(pathOrUrl: string): string {
    return new URL(pathOrUrl, this.appUrl).href;
  }

  /** A navigation: GET with `Accept: text/html`, redirects not followed. */
  get(path: string, headers: Record<string, string> = {}): Promise<Res> {
    return this.http.get(this.url(path), { headers: { accept: 'text/html', ...headers } });
  }

  /** An htmx request made from the page at `currentPath`. */
  hx(path: string, currentPath = '/', headers: Record<string, string> = {}): Promise<Res> {
    return this.http.get(this.url(path), { headers: { 'hx-request': 'true', 'hx-current-url': this.url(currentPath), ...headers } });
  }

  /** A JSON client call (`Accept: application/json`, `X-CSRF: 1`). */
  json(path: string, method: 'GET' | 'POST' = 'GET', headers: Record<string, string> = {}): Promise<Res> {
    return this.http(this.url(path), { method, headers: { accept: 'application/json', 'x-csrf': '1', ...headers } });
  }

  /** GET `url`, then follow 3xx with GET like a browser navigation. */
  async navigate(url: string): Promise<Res> {
    let res = await this.http.get(url);
    for (let hops = 0; isRedirect(res); hops++) {
      if (hops > 10) throw new Error('too many redirects');
      res = await this.http.get(new URL(res.headers.location!, res.url).href);
    }
    return res;
  }

  /**
   * Starts a login at the app and goes through the IdP up to its form_post page.
   * @returns the app's answer to the login route, the authorization URL and the form_post form (not yet POSTed).
   */
  async loginUntilCallback(returnTo: string, account: { username: string; password: string }): Promise<{ start: Res; authorize: URL; form: Form }> {
    const start = await this.http.get(this.url(`${this.loginPath}?returnTo=${encodeURIComponent(returnTo)}`));
    if (start.statusCode !== 302) throw new Error(`${this.loginPath} answered ${start.statusCode}: ${start.body.slice(0, 500)}`);
    const authorize = new URL(start.headers.location!);
    let page = await this.navigate(authorize.href);
    if (!this.#isCallbackPage(page)) {
      // The IdP's login page: its first POST form is the credentials form.
      const login = readForm(page.body, 'form[method="post"]');
      let answer = await this.http.post(new URL(login.action, page.url).href, {
        form: { ...login.fields, username: account.username, password: account.password },
        headers: { origin: new URL(page.url).origin },
      });
      if (isRedirect(answer)) answer = await this.navigate(new URL(answer.headers.location!, answer.url).href);
      page = answer;
      // The dev IdP's second step (step-up): it shows the one-time code on its own page.
      const code = parse(page.body).querySelector('#otp-code')?.text;
      if (code && !this.#isCallbackPage(page)) {
        this.otpPages += 1;
        const otp = readForm(page.body, 'form[method="post"]');
        answer = await this.http.post(new URL(otp.action, page.url).href, { form: { otp: code }, headers: { origin: new URL(page.url).origin } });
        if (isRedirect(answer)) answer = await this.navigate(new URL(answer.headers.location!, answer.url).href);
        page = answer;
      }
    }
    if (!this.#isCallbackPage(page)) throw new Error(`expected the IdP's form_post page, got ${page.statusCode}:\n${page.body.slice(0, 1500)}`);
    return { start, authorize, form: readForm(page.body) };
  }

  /** POSTs the form_post fields to the app like the IdP page's script (Origin: the IdP). */
  postCallback(form: Form, idpOrigin: string): Promise<Res> {
    return this.http.post(form.action, { form: form.fields, headers: { origin: idpOrigin } });
  }

  /** A whole login; returns the app's answer to the callback (303 expected). */
  async login(account: { username: string; password: string }, returnTo = '/page'): Promise<Res> {
    const { authorize, form } = await this.loginUntilCallback(returnTo, account);
    const callback = await this.postCallback(form, authorize.origin);
    if (callback.statusCode !== 303) throw new Error(`callback answered ${callback.statusCode}: ${callback.body.slice(0, 1000)}`);
    return callback;
  }

  /** The `_csrf` value of the logout form on `path`. */
  async csrfToken(path = '/page'): Promise<string> {
    const page = await this.get(path);
    if (page.statusCode !== 200) throw new Error(`${path} answered ${page.statusCode}`);
    const token = readForm(page.body, 'form#logout').fields._csrf;
    if (!token) throw new Error(`no _csrf on ${path}`);
    return token;
  }

  /** The cookies this browser would send to the app. */
  cookies(): Promise<Cookie[]> {
    return this.jar.getCookies(this.appUrl);
  }

  async cookie(name: string): Promise<string | undefined> {
    return (await this.cookies()).find((c) => c.key === name)?.value;
  }

  /** Copies the cookies named `name` and `name.sig` into `other` (the same session in another browser). */
  async copySessionTo(other: Agent, name = 'bff.sid'): Promise<void> {
    for (const c of await this.cookies()) {
      if (c.key === name || c.key === `${name}.sig`) await other.jar.setCookie(`${c.key}=${c.value}; Path=/; HttpOnly`, this.appUrl);
    }
  }

  #isCallbackPage(page: Res): boolean {
    const form = parse(page.body).querySelector('form');
    const action = form?.getAttribute('action');
    return page.statusCode === 200 && Boolean(action) && URL.parse(action!)?.origin === new URL(this.appUrl).origin;
  }
}
