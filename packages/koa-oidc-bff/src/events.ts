/**
 * Authentication events: the one list of their names and the one function that logs them, so
 * every event is one log line of the same shape, and a session is only ever named by the hash of
 * its id ({@link sessionIdHash}), never by the id itself. Use it for every event below, including
 * back-channel logout and token refresh.
 */
import { sessionIdHash, type BffLogger as Logger } from './log.ts';

/** Event names, as written in the `event` field of the log line. */
export const AUTH_EVENTS = {
  /** GET /login sent the browser to the IdP. */
  loginStarted: 'login.started',
  /** A callback created a session (`durationMs`: from the callback request to the stored session). */
  loginSucceeded: 'login.succeeded',
  /** A login could not start or its callback was refused; `reason` holds the error code (`durationMs` for a callback). */
  loginFailed: 'login.failed',
  /** The user logged out (POST /logout). */
  logout: 'logout',
  /** The IdP ended sessions with a logout token (OIDC Back-Channel Logout 1.0). */
  backchannelLogout: 'logout.backchannel',
  /** A request carried the cookie of a session that no longer exists (expired, revoked, ended elsewhere). */
  sessionExpired: 'session.expired',
  /** The access token was renewed with the refresh token (`durationMs`: IdP request and store write). */
  tokenRefreshed: 'token.refreshed',
  /** Renewing the access token failed; `reason` holds the error code (`durationMs` as for `token.refreshed`). */
  refreshFailed: 'token.refresh_failed',
  /** A request needing a refresh got the result of one already under way (here or on another instance). */
  tokenRefreshCoalesced: 'token.refresh_coalesced',
  /** A CSRF check refused a request; `check` names it, `reason` holds the error code. */
  csrfRejected: 'csrf.rejected',
  /** The user ended one of their sessions from the sessions page (`bySessionHash`: from which one). */
  sessionEndedByUser: 'session.ended_by_user',
  /** The user ended all their other sessions from the sessions page; `count` of them. */
  otherSessionsEnded: 'sessions.ended_others',
} as const;

export type AuthEvent = (typeof AUTH_EVENTS)[keyof typeof AUTH_EVENTS];

const MESSAGES: Record<AuthEvent, string> = {
  'login.started': 'login started',
  'login.succeeded': 'login succeeded',
  'login.failed': 'login failed',
  logout: 'logout',
  'logout.backchannel': 'back-channel logout',
  'session.expired': 'session expired',
  'token.refreshed': 'token refreshed',
  'token.refresh_failed': 'token refresh failed',
  'token.refresh_coalesced': 'token refresh shared with one under way',
  'csrf.rejected': 'CSRF check refused a request',
  'session.ended_by_user': 'session ended from the sessions page',
  'sessions.ended_others': 'other sessions ended',
};

const WARNINGS = new Set<AuthEvent>([AUTH_EVENTS.loginFailed, AUTH_EVENTS.refreshFailed]);

/**
 * The CSRF checks, as the `check` of a `csrf.rejected` event (and the `check` label of
 * `bff_csrf_rejections_total`): the API header, the same-origin `Origin`/`Referer`, the form
 * token, and Fetch Metadata (`Sec-Fetch-Site`).
 */
export type CsrfCheck = 'api_header' | 'origin' | 'token' | 'fetch_metadata';

/** What an event line may carry. Nothing here may hold a token, cookie, code or secret. */
export interface AuthEventFields {
  /** The user's `sub` (OIDC Core 2), when known. */
  sub?: string | undefined;
  /** The app's session id. Only its hash is logged, as `sessionHash`. */
  sessionId?: string | undefined;
  /** The session that acted on another one (sessions page). Only its hash is logged, as `bySessionHash`. */
  bySessionId?: string | undefined;
  /** A stable error code such as `ERR_LOGIN_STATE_UNKNOWN`, for failures. */
  reason?: string | undefined;
  /** A private explanation for operators (an error's `detail`), never shown to users. */
  detail?: string | undefined;
  /** How many sessions the event ended (back-channel logout, ending other sessions). */
  count?: number | undefined;
  /** The request id of the request that caused the event, to join with its request line. */
  requestId?: string | undefined;
  /** Milliseconds the operation took (callback, refresh). */
  durationMs?: number | undefined;
  /** The CSRF check that refused the request (`csrf.rejected`). */
  check?: CsrfCheck | undefined;
}

/** What a listener of {@link AuthEvents} receives: the log line's fields, sessions named by hash only. */
export interface AuthEventPayload {
  event: AuthEvent;
  sub?: string | undefined;
  /** 12 characters of SHA-256 of the session id (never the id). */
  sessionHash?: string | undefined;
  bySessionHash?: string | undefined;
  reason?: string | undefined;
  detail?: string | undefined;
  count?: number | undefined;
  requestId?: string | undefined;
  durationMs?: number | undefined;
  check?: CsrfCheck | undefined;
}

/** A listener of auth events. It runs synchronously in the request: keep it cheap, never throw. */
export type AuthEventListener = (payload: AuthEventPayload) => void;

/**
 * The one place auth events go: one log line each (`info`, or `warn` for failures) and every
 * listener the host registered. Fields: `event`, `sub`, `sessionHash`, `bySessionHash`,
 * `reason`, `detail`, `count`, `requestId` (each only when given).
 */
export class AuthEvents {
  readonly #logger: Logger;
  readonly #listeners = new Map<AuthEvent | '*', Set<AuthEventListener>>();

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Registers `listener` for `event` (`'*'` for every event); returns a function that removes it. */
  on(event: AuthEvent | '*', listener: AuthEventListener): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Logs `event` and tells the listeners. A throwing listener is logged and skipped. */
  emit(event: AuthEvent, fields: AuthEventFields = {}): void {
    const { sub, sessionId, bySessionId, reason, detail, count, requestId, durationMs, check } = fields;
    const hash = (id: string | undefined) => (id ? sessionIdHash(id) : undefined);
    // pino leaves undefined fields out of the JSON line.
    const line: AuthEventPayload = { event, sub, sessionHash: hash(sessionId), bySessionHash: hash(bySessionId), reason, detail, count, requestId, durationMs, check };
    if (WARNINGS.has(event)) this.#logger.warn({ ...line }, MESSAGES[event]);
    else this.#logger.info({ ...line }, MESSAGES[event]);
    for (const key of [event, '*'] as const) {
      for (const listener of this.#listeners.get(key) ?? []) {
        try {
          listener({ ...line });
        } catch (err) {
          this.#logger.error({ event: 'auth_event.listener_failed', authEvent: event, err: err instanceof Error ? err.name : 'unknown' }, 'an auth event listener threw');
        }
      }
    }
  }
}
