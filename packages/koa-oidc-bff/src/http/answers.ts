/**
 * The package's answers to failed requests, and the middleware that gives them. It owns the
 * unauthenticated contract (OAuth 2.0 for Browser-Based Apps, BFF pattern):
 * - htmx, never logged in: 401 + "not logged in" fragment (render hook) with a login link;
 * - htmx, session ended, or an htmx navigation (boosted link, history restore): 401 +
 *   `HX-Redirect: <login>?returnTo=<page>` (never a 3xx to htmx); the page is where a navigation
 *   was going, else the page the request came from;
 * - navigation: 302 to `<login>?returnTo=<path>`;
 * - JSON client: 401 `{"error":"unauthenticated"}`;
 * - step-up (RFC 9470): the same with `acr_values`/`max_age` in the login URL, JSON
 *   `{"error":"insufficient_user_authentication"}`;
 * - `GET /login` by a fetch/XHR (navigationRequired): 401 JSON, or for htmx 401 + `HX-Redirect`.
 * Other {@link AppError}s get their status with a page, a fragment or JSON; nothing private
 * (stack, `detail`) leaves the server, and no redirect prepared before the failure does. Errors that are not AppErrors go on to the host's handler.
 */
import escapeHtml from 'escape-html';
import type Koa from 'koa';
import { AppError, AuthRequiredError, LoginError, publicView } from '../errors.ts';
import { AUTH_EVENTS, type AuthEvents, type CsrfCheck } from '../events.ts';
import type { BffLogger } from '../log.ts';
import type { ErrorView, RenderHooks } from '../options.ts';
import { isHtmxNavigation } from '../login/return-to.ts';
import { htmx, setHxRedirect, wantsFragment } from './htmx.ts';
import { StepUpRequiredError, stepUpLoginUrl } from '../session/step-up.ts';

/** Headers that send the browser elsewhere; never part of an error answer. */
const REDIRECT_HEADERS = ['Location', 'HX-Redirect', 'HX-Location', 'Refresh'];

/** True when the client asked for JSON rather than HTML. */
export function prefersJson(ctx: Koa.Context): boolean {
  return ctx.accepts('html', 'json') === 'json';
}

export interface AnswersOptions {
  /** Path of the login route. */
  loginPath: string;
  render: RenderHooks;
  logger: BffLogger;
  /** Where `csrf.rejected` events go (a refusal by a CSRF check, named by its error code). */
  events?: AuthEvents | undefined;
}

/**
 * The CSRF check behind each refusal code: every CSRF refusal is a ForbiddenError with one of
 * these codes, answered here, so this is the one place that reports them (`csrf.rejected`).
 */
export const CSRF_CHECK_BY_CODE: Readonly<Record<string, CsrfCheck>> = {
  ERR_CSRF_HEADER: 'api_header',
  ERR_CSRF_ORIGIN: 'origin',
  ERR_CSRF_TOKEN: 'token',
  ERR_CSRF_FETCH_METADATA: 'fetch_metadata',
};

/** Builds the middleware that catches AppErrors thrown below it (package routes, `requireUser`, host routes) and answers them. */
export function answerErrors(options: AnswersOptions): Koa.Middleware {
  const { logger } = options;
  const loginUrl = (returnTo: string) => `${options.loginPath}?returnTo=${encodeURIComponent(returnTo)}`;
  const notLoggedIn = options.render.notLoggedIn ?? ((_ctx, data) => `<p role="alert">You are not logged in. <a href="${escapeHtml(data.loginUrl)}">Log in</a></p>`);
  const renderError = options.render.error ?? defaultError;

  return async function bffAnswers(ctx, next) {
    try {
      await next();
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      answer(ctx, err);
    }
  };

  function answer(ctx: Koa.Context, err: AppError): void {
    const view = publicView(err);
    const requestId = typeof ctx.state.requestId === 'string' ? ctx.state.requestId : undefined;
    // A LoginError was logged once already, as `login.failed` with its reason.
    if (!(err instanceof LoginError)) logger.info({ requestId, code: view.code, status: view.status, detail: err.detail }, 'request refused');
    const check = CSRF_CHECK_BY_CODE[err.code];
    if (check) options.events?.emit(AUTH_EVENTS.csrfRejected, { check, reason: err.code, requestId });
    // A redirect prepared before the failure must not leave with the error: a logout's Location
    // to the IdP carries id_token_hint (a token) and would end the IdP session although ours failed.
    for (const header of REDIRECT_HEADERS) ctx.remove(header);
    // The answer differs by htmx and by Accept (JSON or HTML).
    ctx.vary('HX-Request');
    ctx.vary('Accept');
    ctx.set('Cache-Control', 'no-store');
    ctx.set(err.headers);
    const hx = htmx(ctx);

    if (err instanceof StepUpRequiredError) {
      // RFC 9470: the same contract as a session ended, with the requirement in the login URL.
      const login = stepUpLoginUrl(options.loginPath, err);
      ctx.status = hx.request || prefersJson(ctx) ? 401 : 302;
      if (hx.request) {
        setHxRedirect(ctx, login);
        ctx.body = '';
      } else if (prefersJson(ctx)) {
        ctx.body = { error: 'insufficient_user_authentication' };
      } else {
        ctx.redirect(login);
      }
      return;
    }

    if (err instanceof AuthRequiredError) {
      const login = loginUrl(err.returnTo);
      ctx.status = hx.request || prefersJson(ctx) || err.navigationRequired ? 401 : 302;
      // A navigation to a protected page means "log in": no notice to swap into a page that is going away.
      if (hx.request && (err.sessionEnded || err.navigationRequired || isHtmxNavigation({ method: ctx.method, htmx: hx }))) {
        setHxRedirect(ctx, login);
        ctx.body = '';
      } else if (hx.request) {
        ctx.type = 'html';
        ctx.body = notLoggedIn(ctx, { loginUrl: login });
      } else if (prefersJson(ctx) || err.navigationRequired) {
        ctx.body = { error: 'unauthenticated' };
      } else {
        ctx.redirect(login);
      }
      return;
    }

    ctx.status = view.status;
    const errorView: ErrorView = {
      status: view.status,
      code: view.code,
      message: view.message,
      requestId,
      heading: err instanceof LoginError ? (err.status === 429 ? 'Too many logins' : 'Login not completed') : undefined,
      retryUrl: err instanceof LoginError ? loginUrl(err.retryPath) : undefined,
    };
    // A boosted navigation gets the whole page (htmx selects what it swaps from it).
    if (wantsFragment(ctx)) {
      ctx.type = 'html';
      ctx.body = renderError(ctx, errorView, 'fragment');
    } else if (prefersJson(ctx)) {
      ctx.body = { error: view.code, message: view.message, requestId };
    } else {
      ctx.type = 'html';
      ctx.body = renderError(ctx, errorView, 'page');
    }
  }
}

function defaultError(_ctx: Koa.Context, view: ErrorView, as: 'page' | 'fragment'): string {
  const retry = view.retryUrl ? ` <a href="${escapeHtml(view.retryUrl)}">Try again</a>` : '';
  const body = `<p role="alert">${escapeHtml(view.message)}${retry}</p>`;
  if (as === 'fragment') return body;
  const title = escapeHtml(view.heading ?? 'Error');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${body}<p><small>${escapeHtml(view.code)}${view.requestId ? ` · ${escapeHtml(view.requestId)}` : ''}</small></p></body></html>`;
}
