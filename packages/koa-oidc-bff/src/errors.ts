/**
 * Error model: a public message written for the user, a stable `code` for tests and logs, and a
 * private `detail`/`cause` that only reaches the log (the model of Koa's `expose` flag and
 * oidc-provider's public description vs private detail).
 */

export interface AppErrorOptions {
  /** Private explanation for the log; never sent to the client. */
  detail?: string;
  cause?: unknown;
  /** Extra response headers. */
  headers?: Record<string, string>;
  /** The public message may be shown even with a 5xx status (Koa's `expose`). Default: status < 500. */
  expose?: boolean;
}

/** Base of every error the app answers on purpose. `expose` (the public message may be shown) is true below 500 unless set. */
export class AppError extends Error {
  readonly expose: boolean;
  readonly detail: string | undefined;
  readonly headers: Record<string, string>;

  /**
   * @param status HTTP status to answer with.
   * @param code stable machine-readable code such as `ERR_LOGIN_STATE_MISSING`.
   * @param publicMessage text safe to show the user.
   */
  constructor(readonly status: number, readonly code: string, readonly publicMessage: string, options: AppErrorOptions = {}) {
    super(publicMessage, { cause: options.cause });
    this.name = new.target.name;
    this.expose = options.expose ?? status < 500;
    this.detail = options.detail;
    this.headers = options.headers ?? {};
  }
}

/** A request that needs a logged-in user and has none. `sessionEnded` separates "never logged in" from "session gone". */
export class AuthRequiredError extends AppError {
  /**
   * @param navigationRequired set by `GET /login` for a request that is not a top-level navigation
   *   (fetch, XHR, htmx): it gets `401` JSON or `HX-Redirect` back to the login route, never a
   *   redirect to the IdP (which would fail on CORS and create a login attempt for nothing).
   */
  constructor(readonly sessionEnded: boolean, readonly returnTo: string, readonly navigationRequired = false) {
    super(401, sessionEnded ? 'ERR_SESSION_ENDED' : 'ERR_NOT_LOGGED_IN', sessionEnded ? 'Your session has ended. Please log in again.' : 'You are not logged in.');
  }
}

/** A login that failed at the callback or before it. `retryPath` is where "Try again" leads. */
export class LoginError extends AppError {
  constructor(status: 400 | 429 | 502 | 503, code: string, publicMessage: string, readonly retryPath: string, options: AppErrorOptions = {}) {
    super(status, code, publicMessage, options);
  }
}

/** A request refused for cross-site request forgery reasons (missing header, bad Origin or CSRF token). */
export class ForbiddenError extends AppError {
  constructor(code: string, publicMessage = 'This request was refused.', options: AppErrorOptions = {}) {
    super(403, code, publicMessage, options);
  }
}

/** An upstream API called with the user's access token failed (502); its public message is shown. */
export class UpstreamError extends AppError {
  constructor(code: string, publicMessage: string, options: AppErrorOptions = {}) {
    super(502, code, publicMessage, { ...options, expose: true });
  }
}

/** A dependency (IdP, session store) is unavailable; the user may retry shortly. */
export class UnavailableError extends AppError {
  constructor(code: string, publicMessage: string, options: AppErrorOptions = {}) {
    super(503, code, publicMessage, options);
  }
}

/** What may leave the server for `err`: status, code and message, never a stack or private detail. */
export function publicView(err: unknown): { status: number; code: string; message: string; expose: boolean } {
  // A LoginError's message is written for the user whatever its status (502: "the identity provider could not complete the login").
  if (err instanceof AppError) return { status: err.status, code: err.code, message: err.expose || err.status === 503 || err instanceof LoginError ? err.publicMessage : 'Something went wrong.', expose: err.expose };
  const status = typeof (err as { status?: unknown })?.status === 'number' ? (err as { status: number }).status : 500;
  const expose = status >= 400 && status < 500 && (err as { expose?: boolean }).expose === true;
  if (status >= 400 && status < 500) return { status, code: `ERR_HTTP_${status}`, message: expose ? String((err as Error).message) : httpMessage(status), expose };
  return { status: 500, code: 'ERR_INTERNAL', message: 'Something went wrong.', expose: false };
}

function httpMessage(status: number): string {
  switch (status) {
    case 400: return 'The request could not be understood.';
    case 404: return 'Page not found.';
    case 405: return 'Method not allowed.';
    case 413: return 'The request is too large.';
    case 415: return 'Unsupported content type.';
    default: return 'The request was refused.';
  }
}
