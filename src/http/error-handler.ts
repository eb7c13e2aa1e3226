/**
 * The one error-handling middleware. It decides what leaves the server ({@link publicView}: never
 * a stack trace or private detail) and negotiates the answer: a full page for navigations, a
 * fragment for htmx, JSON for JSON clients. It also implements the unauthenticated contract:
 * - htmx, never logged in: 401 + "not logged in" fragment with a "Log in now" link;
 * - htmx, session ended: 401 + `HX-Redirect: /login?returnTo=<page>` (never a 3xx to htmx);
 * - navigation: 302 to /login?returnTo=<path>;
 * - JSON client: 401 `{"error":"unauthenticated"}`.
 */
import type Koa from 'koa';
import { AppError, AuthRequiredError, LoginError, publicView } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Renderer } from '../views.ts';
import { htmx, setHxRedirect } from './htmx.ts';

export interface ErrorHandlerOptions {
  renderer: Renderer;
  logger: Logger;
  /** Extra data every full page needs (layout settings). */
  pageData?: (ctx: Koa.Context) => Record<string, unknown>;
}

/** Where "Log in" sends a user who should come back to `returnTo`. */
export function loginPath(returnTo: string): string {
  return `/login?returnTo=${encodeURIComponent(returnTo)}`;
}

/** Builds the error-handling middleware; mount it first. */
export function errorHandler(options: ErrorHandlerOptions): Koa.Middleware {
  const { renderer, logger } = options;

  return async function handleErrors(ctx, next) {
    try {
      await next();
      if (ctx.status === 404 && ctx.body == null) throw new AppError(404, 'ERR_NOT_FOUND', 'Page not found.');
    } catch (err) {
      respond(ctx, err);
    }
  };

  function respond(ctx: Koa.Context, err: unknown): void {
    const view = publicView(err);
    const requestId = String(ctx.state.requestId ?? '');
    const detail = err instanceof AppError ? err.detail : undefined;
    if (view.status >= 500 && !(err instanceof AppError)) logger.error({ err, requestId }, 'unhandled error');
    // A LoginError was logged once already, as `login.failed` with its reason, by the BFF layer.
    else if (!(err instanceof LoginError)) logger.info({ requestId, code: view.code, status: view.status, detail }, 'request refused');

    ctx.vary('HX-Request');
    ctx.set('Cache-Control', 'no-store');
    if (err instanceof AppError) ctx.set(err.headers);
    const hx = htmx(ctx);

    if (err instanceof AuthRequiredError) {
      const login = loginPath(err.returnTo);
      if (hx.request) {
        ctx.status = 401;
        if (err.sessionEnded) {
          setHxRedirect(ctx, login);
          ctx.body = '';
        } else {
          ctx.type = 'html';
          ctx.body = renderer.render('partials/not-logged-in', { loginUrl: login });
        }
      } else if (prefersJson(ctx)) {
        ctx.status = 401;
        ctx.body = { error: 'unauthenticated' };
      } else {
        ctx.status = 302;
        ctx.redirect(login);
      }
      return;
    }

    ctx.status = view.status;
    const retryUrl = err instanceof LoginError ? loginPath(err.retryPath) : undefined;
    const heading = err instanceof LoginError ? 'Login not completed' : undefined;
    const data = { ...options.pageData?.(ctx), status: view.status, code: view.code, message: view.message, heading, requestId, retryUrl, user: undefined };
    if (hx.request) {
      ctx.type = 'html';
      ctx.body = renderer.render('partials/error', data);
    } else if (prefersJson(ctx)) {
      ctx.body = { error: view.code, message: view.message, requestId };
    } else {
      ctx.type = 'html';
      ctx.body = renderer.render('pages/error', data);
    }
  }
}

/** True when the client asked for JSON rather than HTML. */
export function prefersJson(ctx: Koa.Context): boolean {
  return ctx.accepts('html', 'json') === 'json';
}
