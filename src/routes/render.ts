/**
 * Renders a view as a full page (navigation, reload, htmx history restore) or as its partial
 * (htmx request), from one source of markup: each page includes the partial of the same name.
 */
import type Koa from 'koa';
import { wantsFragment, type Bff } from 'koa-oidc-bff';
import type { Renderer } from '../views.ts';

/** htmx 2 settings for the page (https://htmx.org/reference/#config). */
export const HTMX_CONFIG = {
  // Swap 4xx/5xx fragments (the "not logged in" notice, error messages) into their target.
  responseHandling: [
    { code: '204', swap: false },
    { code: '[23]..', swap: true },
    // 401 is an expected answer (the "not logged in" notice), not an error to log.
    { code: '401', swap: true, error: false },
    { code: '[45]..', swap: true, error: true },
  ],
  // No inline <style> from htmx (CSP), no eval, no script tags from responses.
  includeIndicatorStyles: false,
  allowEval: false,
  allowScriptTags: false,
  selfRequestsOnly: true,
  // Keep private pages out of localStorage; the back button re-fetches from the server.
  historyCacheSize: 0,
  refreshOnHistoryMiss: true,
};

export interface PageRenderer {
  /** Renders `name` as page or partial with the common data (user, CSRF token, path). */
  (ctx: Koa.Context, name: string, data?: Record<string, unknown>): void;
}

/** Creates the page renderer; every rendered response depends on the session, so none is cached. */
export function pageRenderer(renderer: Renderer, bff: Bff): PageRenderer {
  return (ctx, name, data = {}) => {
    const fragment = wantsFragment(ctx);
    const common = { user: bff.user(ctx), csrfToken: bff.csrfToken(ctx), path: ctx.path, htmxConfig: HTMX_CONFIG, ...data };
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'html';
    ctx.body = renderer.render(fragment ? `partials/${name}` : `pages/${name}`, common);
  };
}
