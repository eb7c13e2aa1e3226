/**
 * Typed access to the server-side session content of a logged-in user (koa-session's
 * `ctx.session`), so the rest of the code never touches untyped session fields.
 */
import type Koa from 'koa';
import { leanSession } from './session-middleware.ts';

/** The user as shown to the page: OIDC Core 5.1 standard claims. */
export interface SessionUser {
  sub: string;
  name: string | undefined;
  email: string | undefined;
}

/**
 * The hot record of a login: what every request reads (a few hundred bytes). Tokens, the ID
 * token and the full claim set are the session's token record (tokens/token-record.ts), read
 * only where needed. Nothing here but `user` is shown to the browser.
 */
export interface UserSessionData {
  user: SessionUser;
  /** Secret behind the per-session CSRF tokens (csrf package). */
  csrfSecret: string;
}

type SessionHolder = { session: (Partial<UserSessionData> & Record<string, unknown>) | null };

/** The logged-in user's session data, or undefined when the request has no live login. */
export function userSession(ctx: Koa.Context): UserSessionData | undefined {
  const lean = leanSession(ctx);
  const session = (lean ? lean.data : (ctx as unknown as SessionHolder).session) as (Partial<UserSessionData> & Record<string, unknown>) | null | undefined;
  if (!session || typeof session.user !== 'object' || session.user === null || typeof session.user.sub !== 'string') return undefined;
  return session as unknown as UserSessionData;
}

/** Ends the session: the store record is destroyed and the cookie cleared when the response is sent. */
export function endSession(ctx: Koa.Context): void {
  const lean = leanSession(ctx);
  if (lean) {
    lean.data = undefined;
    lean.ended = true;
  } else {
    (ctx as unknown as SessionHolder).session = null;
  }
}
