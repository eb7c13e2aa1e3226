import { createHash, randomBytes } from 'node:crypto';
import got, { type Got, type Response } from 'got';
import { CookieJar } from 'tough-cookie';

const decodeHtml = (value: string): string =>
  value.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** Hidden inputs of the first form of a page, plus its action (what a browser would submit). */
export function parseForm(html: string): { action: string; fields: Record<string, string> } {
  const form = /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/.exec(html);
  if (!form) throw new Error(`no form in page:\n${html}`);
  const fields: Record<string, string> = {};
  for (const input of form[2]!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\/?>/g)) {
    fields[decodeHtml(input[1]!)] = decodeHtml(input[2]!);
  }
  return { action: decodeHtml(form[1]!), fields };
}

/** A scripted browser: one cookie jar, redirects followed by hand (so every hop is visible). */
export class Browser {
  readonly jar = new CookieJar();
  readonly http: Got = got.extend({ cookieJar: this.jar, followRedirect: false, throwHttpErrors: false, retry: { limit: 0 } });

  /** GET, following 3xx with GET (as browsers do after 302/303) until a non-redirect answer. */
  async get(url: string): Promise<Response<string>> {
    let response = await this.http.get(url);
    for (let hops = 0; response.statusCode >= 300 && response.statusCode < 400; hops += 1) {
      if (hops > 10) throw new Error('too many redirects');
      response = await this.http.get(new URL(response.headers.location!, response.url).href);
    }
    return response;
  }

  /** POSTs a urlencoded form, then follows redirects like `get`. */
  async post(url: string, form: Record<string, string>): Promise<Response<string>> {
    const response = await this.http.post(url, { form });
    if (response.statusCode >= 300 && response.statusCode < 400) {
      return this.get(new URL(response.headers.location!, response.url).href);
    }
    return response;
  }
}

/** PKCE pair (RFC 7636 4.1-4.2, S256). */
export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export interface AuthorizationRequest {
  /** From discovery (it is /auth on oidc-provider, not /authorize). */
  authorizationEndpoint: string;
  clientId: string;
  redirectUri: string;
  responseType?: 'code' | 'id_token';
  scope?: string;
  extra?: Record<string, string>;
}

/** Builds an authorization URL with fresh state, nonce and (for code) PKCE; response_mode=form_post. */
export function authorizationUrl(req: AuthorizationRequest) {
  const state = randomBytes(12).toString('base64url');
  const nonce = randomBytes(12).toString('base64url');
  const { verifier, challenge } = pkce();
  const responseType = req.responseType ?? 'code';
  const url = new URL(req.authorizationEndpoint);
  url.search = new URLSearchParams({
    client_id: req.clientId,
    response_type: responseType,
    response_mode: 'form_post',
    redirect_uri: req.redirectUri,
    scope: req.scope ?? 'openid profile email offline_access',
    state,
    nonce,
    ...(responseType === 'code' ? { code_challenge: challenge, code_challenge_method: 'S256' } : {}),
    ...req.extra,
  }).toString();
  return { url: url.href, state, nonce, verifier };
}

/**
 * Drives a login as a browser would: authorization URL, login page, username/password POST,
 * redirects, and returns the auto-submitting form_post page's form (action and fields).
 */
export async function browserLogin(browser: Browser, req: AuthorizationRequest & { username: string; password: string }) {
  const request = authorizationUrl(req);
  const loginPage = await browser.get(request.url);
  if (loginPage.statusCode !== 200) throw new Error(`login page: ${loginPage.statusCode}\n${loginPage.body}`);
  const loginAction = /<form method="post" action="([^"]+\/login)"/.exec(loginPage.body)?.[1];
  if (!loginAction) throw new Error(`no login form:\n${loginPage.body}`);
  const callbackPage = await browser.post(new URL(loginAction, loginPage.url).href, { username: req.username, password: req.password });
  return { ...request, loginPage, callbackPage, form: parseForm(callbackPage.body) };
}

/** Redeems a code at the token endpoint with client_secret_basic (RFC 6749 2.3.1, 4.1.3). */
export async function tokenRequest(tokenEndpoint: string, client: { clientId: string; clientSecret: string }, form: Record<string, string>) {
  const basic = Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`).toString('base64');
  return got.post(tokenEndpoint, {
    form, headers: { authorization: `Basic ${basic}` }, throwHttpErrors: false, responseType: 'json',
  }) as Promise<Response<Record<string, string>>>;
}

/** The provider's discovery document (OIDC Discovery 4). */
export async function discover(issuer: string): Promise<Record<string, unknown> & {
  authorization_endpoint: string; token_endpoint: string; end_session_endpoint: string; jwks_uri: string; revocation_endpoint: string;
}> {
  return got(`${issuer}/.well-known/openid-configuration`).json();
}
