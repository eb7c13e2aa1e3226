/**
 * A scripted browser for HTTP tests: one cookie jar (tough-cookie), redirects followed by hand so
 * every hop can be inspected, and the login steps a person would take (the dev-idp's real login
 * form, its real auto-submitting form_post page). HTML is read with node-html-parser.
 */
import got, { type Got, type Response } from 'got';
import { parse } from 'node-html-parser';
import { CookieJar } from 'tough-cookie';

export type Res = Response<string>;

/** The first form of `html`: its action and the values of its inputs. */
export function readForm(html: string, selector = 'form'): { action: string; method: string; fields: Record<string, string> } {
  const form = parse(html).querySelector(selector);
  if (!form) throw new Error(`no ${selector} in page:\n${html.slice(0, 2000)}`);
  const fields: Record<string, string> = {};
  for (const input of form.querySelectorAll('input')) {
    const name = input.getAttribute('name');
    if (name) fields[name] = input.getAttribute('value') ?? '';
  }
  return { action: form.getAttribute('action') ?? '', method: (form.getAttribute('method') ?? 'get').toLowerCase(), fields };
}

export class UserAgent {
  readonly jar = new CookieJar();
  readonly http: Got;

  constructor(readonly appUrl: string, headers: Record<string, string> = {}) {
    this.http = got.extend({ cookieJar: this.jar, followRedirect: false, throwHttpErrors: false, retry: { limit: 0 }, headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Safari/537.36', ...headers } });
  }

  url(pathOrUrl: string): string {
    return new URL(pathOrUrl, this.appUrl).href;
  }

  /** GET, then follow 3xx with GET, as a browser navigation does. Returns the last response. */
  async navigate(pathOrUrl: string, maxHops = 10): Promise<Res> {
    let response = await this.http.get(this.url(pathOrUrl));
    for (let hops = 0; isRedirect(response); hops++) {
      if (hops >= maxHops) throw new Error('too many redirects');
      response = await this.http.get(new URL(response.headers.location!, response.url).href);
    }
    return response;
  }

  /** POST a urlencoded form (with the Origin a browser would send), then follow redirects. */
  async submit(url: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Res> {
    const response = await this.http.post(url, { form: fields, headers: { origin: new URL(url).origin, ...headers } });
    return isRedirect(response) ? this.navigate(new URL(response.headers.location!, response.url).href) : response;
  }

  /** An htmx request from the page at `currentPath`. */
  hx(path: string, currentPath = '/', headers: Record<string, string> = {}): Promise<Res> {
    return this.http.get(this.url(path), { headers: { 'hx-request': 'true', 'hx-current-url': this.url(currentPath), ...headers } });
  }

  /**
   * Starts a login and stops at the IdP's auto-submitting form_post page (not yet POSTed to /callback).
   * @returns the callback form (action, fields such as `state`, `code` or `id_token`, `iss`).
   */
  async loginUntilCallback(username: string, password: string, returnTo = '/'): Promise<{ action: string; fields: Record<string, string> }> {
    const start = await this.http.get(this.url(`/login?returnTo=${encodeURIComponent(returnTo)}`));
    if (start.statusCode !== 302) throw new Error(`/login answered ${start.statusCode}: ${start.body}`);
    const loginPage = await this.navigate(start.headers.location!);
    // An IdP that still has a session for this browser answers with the form_post page at once.
    const direct = parse(loginPage.body).querySelector('form');
    if (direct?.getAttribute('action')?.endsWith('/callback')) return readForm(loginPage.body);
    return this.submitCredentials(loginPage, username, password);
  }

  /** Fills the IdP's login page and returns the form_post form it answers with. */
  async submitCredentials(loginPage: Res, username: string, password: string): Promise<{ action: string; fields: Record<string, string> }> {
    const login = readForm(loginPage.body, 'form[method="post"]');
    const answer = await this.submit(new URL(login.action, loginPage.url).href, { ...login.fields, username, password });
    const form = readForm(answer.body);
    if (!form.action.endsWith('/callback')) throw new Error(`expected the form_post page, got:\n${answer.body.slice(0, 2000)}`);
    return form;
  }

  /** POSTs the form_post fields to the app's /callback like the IdP page's script does (cross-site Origin). */
  async postCallback(form: { action: string; fields: Record<string, string> }, origin = 'null'): Promise<Res> {
    return this.http.post(form.action, { form: form.fields, headers: { origin } });
  }

  /** A full login; returns the landing page after the callback's redirect. */
  async login(username = 'alice', password = 'alice-password', returnTo = '/'): Promise<Res> {
    const form = await this.loginUntilCallback(username, password, returnTo);
    const callback = await this.postCallback(form);
    if (callback.statusCode !== 303) throw new Error(`/callback answered ${callback.statusCode}: ${callback.body.slice(0, 2000)}`);
    return this.navigate(callback.headers.location!);
  }

  /**
   * Logs out like a user: the page's logout form (POST with its CSRF token), the IdP's
   * end-session page (confirming "Yes, sign me out" when it asks), and back to the app.
   * @returns the POST /logout response and the final page.
   */
  async logout(fromPath = '/'): Promise<{ logout: Res; final: Res }> {
    const page = await this.navigate(fromPath);
    const form = readForm(page.body, 'form[action="/logout"]');
    const logout = await this.http.post(this.url('/logout'), { form: form.fields, headers: { origin: new URL(this.appUrl).origin } });
    if (!isRedirect(logout)) return { logout, final: logout };
    let final = await this.navigate(new URL(logout.headers.location!, this.appUrl).href);
    if (new URL(final.url).origin !== new URL(this.appUrl).origin) {
      const confirm = readForm(final.body, 'form[method="post"]');
      final = await this.submit(new URL(confirm.action, final.url).href, { ...confirm.fields, logout: 'yes' });
    }
    return { logout, final };
  }

  /** The value of cookie `name` for the app, if any. */
  async cookie(name: string): Promise<string | undefined> {
    const cookies = await this.jar.getCookies(this.appUrl);
    return cookies.find((c) => c.key === name)?.value;
  }
}

export function isRedirect(response: Res): boolean {
  return response.statusCode >= 300 && response.statusCode < 400 && Boolean(response.headers.location);
}
