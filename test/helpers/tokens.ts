/**
 * Token helpers for tests: read a browser's server-side session, wait for its access token to
 * expire, revoke its grant at the IdP, and have the IdP issue genuine Logout Tokens.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import got from 'got';
import type { SessionRecord } from 'koa-oidc-bff';
import { CLIENT_ID, CLIENT_SECRET, idpMetadata, type Stack } from './stack.ts';
import { readForm, type UserAgent } from './user-agent.ts';

/** The session id in `ua`'s cookie jar (the signed cookie's value is the id itself). */
export async function sessionId(ua: UserAgent): Promise<string> {
  const id = await ua.cookie('bff.sid');
  if (!id) throw new Error('no session cookie');
  return id;
}

/**
 * The stored session of `ua` (undefined when gone), its `data` holding the hot record and the
 * token record together (`accessToken`, `refreshToken`, `idToken`, `claims`...).
 */
export async function storedSession(stack: Stack, ua: UserAgent): Promise<SessionRecord | undefined> {
  const id = await sessionId(ua);
  const [record, tokens] = await Promise.all([stack.store.get(id, Date.now()), stack.store.getTokens(id, Date.now())]);
  return record && { ...record, data: { ...record.data, ...tokens } };
}

/**
 * Waits until the stored access token of `ua` has expired at the IdP too (the app computes the
 * expiry from `expires_in`, the IdP's `exp` may be up to a second later). Not a timing assertion:
 * it only makes sure the old token is no longer accepted anywhere.
 */
export async function waitForExpiry(stack: Stack, ua: UserAgent): Promise<string> {
  const record = await storedSession(stack, ua);
  const expiresAt = record?.data.accessTokenExpiresAt;
  if (typeof expiresAt !== 'number') throw new Error('session has no access token expiry');
  const wait = (expiresAt + 1) * 1000 + 200 - Date.now();
  if (wait > 0) await sleep(wait);
  return String(record!.data.accessToken);
}

/** Revokes `ua`'s refresh token at the IdP's revocation endpoint (RFC 7009): the grant is gone. */
export async function revokeGrant(stack: Stack, ua: UserAgent): Promise<void> {
  const record = await storedSession(stack, ua);
  const refreshToken = record?.data.refreshToken;
  if (typeof refreshToken !== 'string') throw new Error('session has no refresh token');
  const endpoint = (await idpMetadata(stack)).revocation_endpoint;
  if (!endpoint) throw new Error('the IdP advertises no revocation_endpoint');
  const response = await got.post(endpoint, {
    form: { token: refreshToken, token_type_hint: 'refresh_token' },
    username: CLIENT_ID,
    password: CLIENT_SECRET,
    throwHttpErrors: false,
  });
  if (response.statusCode !== 200) throw new Error(`revocation answered ${response.statusCode}: ${response.body}`);
}

type LogoutClient = { backchannelLogout(sub: string, sid: string | undefined): Promise<void> };

/** Has the IdP itself send a Logout Token for `sub` (and `sid`) to the app, as at the end of an IdP session. */
export async function idpSendsLogout(stack: Stack, sub: string, sid?: string): Promise<void> {
  const client = (await stack.idp.provider.Client.find(CLIENT_ID)) as unknown as LogoutClient;
  await client.backchannelLogout(sub, sid);
}

/** A genuine Logout Token issued by the IdP's own code (the one backchannelLogout sends), for replay tests. */
export async function issueLogoutToken(stack: Stack, claims: { sub: string; sid?: string }): Promise<string> {
  const { provider } = stack.idp;
  const client = await provider.Client.find(CLIENT_ID);
  const token = new provider.IdToken({ sub: claims.sub }, { client });
  (token as unknown as { mask: unknown }).mask = { sub: null };
  token.set('events', { 'http://schemas.openid.net/event/backchannel-logout': {} });
  token.set('jti', randomUUID());
  if (claims.sid) token.set('sid', claims.sid);
  return token.issue({ use: 'logout' });
}

/**
 * Logs `ua` out at the IdP directly, as a user on the IdP's own end-session page would: no
 * id_token_hint, so the page asks, and the user answers "Yes, sign me out" (logout=yes). The
 * IdP then sends a Logout Token to every app of that IdP session before answering.
 */
export async function logoutAtIdp(stack: Stack, ua: UserAgent): Promise<void> {
  const endSession = (await idpMetadata(stack)).end_session_endpoint;
  if (!endSession) throw new Error('the IdP advertises no end_session_endpoint');
  const page = await ua.navigate(endSession);
  const form = readForm(page.body, 'form[method="post"]');
  const done = await ua.submit(new URL(form.action, page.url).href, { ...form.fields, logout: 'yes' });
  if (done.statusCode !== 200) throw new Error(`IdP logout answered ${done.statusCode}`);
}
