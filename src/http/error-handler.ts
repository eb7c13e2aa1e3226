/**
 * The demo's error handling for what the BFF package does not answer itself (its own errors and
 * the unauthenticated contract are answered by `bff.middleware()` through the same renderer):
 * 404s, the demo's own refusals (405) and unexpected failures. A full page for navigations, a
 * fragment for htmx, JSON for JSON clients; never a stack trace or private detail
 * ({@link publicView}).
 */
import type Koa from 'koa';
import { AppError, publicView, wantsFragment, type ErrorView } from 'koa-oidc-bff';
import type { Logger } from '../log.ts';
import type { Renderer } from '../views.ts';

/** Renders an error as a full page or as the fragment swapped into an htmx page. */
export type ErrorRenderer = (ctx: Koa.Context, view: ErrorView, as: 'page' | 'fragment') => string;

/** The heading (and page title) of an error page. */
export function errorHeading(view: Pick<ErrorView, 'status' | 'heading'>): string {
  if (view.heading) return view.heading;
  switch (view.status) {
    case 401: return 'Not logged in';
    case 403: return 'Not allowed';
    case 404: return 'Page not found';
    case 405: return 'Not available here';
    case 413: return 'Request too large';
    case 429: return 'Too many requests';
    case 503: return 'Temporarily unavailable';
    default: return view.status >= 500 ? 'Something went wrong' : 'Request not accepted';
  }
}

/** The one error look of the demo (views/pages/error, views/partials/error), for the package's render hook and for this handler. */
export function errorRenderer(renderer: Renderer, pageData: (ctx: Koa.Context) => Record<string, unknown>): ErrorRenderer {
  return (ctx, view, as) => {
    const heading = errorHeading(view);
    return renderer.render(as === 'page' ? 'pages/error' : 'partials/error', { ...pageData(ctx), ...view, heading, title: heading, as, path: ctx.path, user: undefined });
  };
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
      if (ctx.body == null) {
        if (ctx.status === 404) throw new AppError(404, 'ERR_NOT_FOUND', 'Page not found.');
        // The routers' 405 (with Allow) is a status only: give it the same page as any refusal.
        if (ctx.status === 405) throw new AppError(405, 'ERR_METHOD_NOT_ALLOWED', 'This address does not accept that kind of request.', { headers: { Allow: ctx.response.get('Allow') || 'GET, HEAD' } });
      }
    } catch (err) {
      try {
        respond(ctx, err);
      } catch (renderFailure) {
        // Nothing escapes to Koa's own handler, which would drop every header (the security headers too).
        logger.error({ err: renderFailure, requestId: ctx.state.requestId ?? '' }, 'error page failed');
        ctx.status = 500;
        ctx.type = 'text';
        ctx.body = 'Internal Server Error';
      }
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
    // A boosted navigation gets the full page (htmx selects from it), other htmx requests a fragment.
    if (wantsFragment(ctx)) {
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
