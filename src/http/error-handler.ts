/**
 * The demo's error handling for what the BFF package does not answer itself (its own errors and
 * the unauthenticated contract are answered by `bff.middleware()` through the same renderer):
 * 404s, the demo's own refusals (405) and unexpected failures. A full page for navigations, a
 * fragment for htmx, JSON for JSON clients; never a stack trace or private detail
 * ({@link publicView}).
 */
import type Koa from 'koa';
import { AppError, htmx, publicView, type ErrorView } from 'koa-oidc-bff';
import type { Logger } from '../log.ts';
import type { Renderer } from '../views.ts';

/** Renders an error as a full page or as the fragment swapped into an htmx page. */
export type ErrorRenderer = (ctx: Koa.Context, view: ErrorView, as: 'page' | 'fragment') => string;

/** The one error look of the demo (views/pages/error, views/partials/error), for the package's render hook and for this handler. */
export function errorRenderer(renderer: Renderer, pageData: (ctx: Koa.Context) => Record<string, unknown>): ErrorRenderer {
  return (ctx, view, as) => renderer.render(as === 'page' ? 'pages/error' : 'partials/error', { ...pageData(ctx), ...view, user: undefined });
}

export interface ErrorHandlerOptions {
  render: ErrorRenderer;
  logger: Logger;
}

/** Builds the error-handling middleware; mount it first. */
export function errorHandler(options: ErrorHandlerOptions): Koa.Middleware {
  const { render, logger } = options;

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
    const requestId = ctx.state.requestId ?? '';
    const detail = err instanceof AppError ? err.detail : undefined;
    if (view.status >= 500 && !(err instanceof AppError)) logger.error({ err, requestId }, 'unhandled error');
    else logger.info({ requestId, code: view.code, status: view.status, detail }, 'request refused');

    ctx.vary('HX-Request');
    ctx.set('Cache-Control', 'no-store');
    // A redirect prepared before the failure (a logout's Location to the IdP, with id_token_hint) never leaves with the error.
    for (const header of ['Location', 'HX-Redirect', 'HX-Location', 'Refresh']) ctx.remove(header);
    if (err instanceof AppError) ctx.set(err.headers);
    ctx.status = view.status;
    const errorView: ErrorView = { status: view.status, code: view.code, message: view.message, requestId, heading: undefined, retryUrl: undefined };
    if (htmx(ctx).request) {
      ctx.type = 'html';
      ctx.body = render(ctx, errorView, 'fragment');
    } else if (ctx.accepts('html', 'json') === 'json') {
      ctx.body = { error: view.code, message: view.message, requestId };
    } else {
      ctx.type = 'html';
      ctx.body = render(ctx, errorView, 'page');
    }
  }
}
