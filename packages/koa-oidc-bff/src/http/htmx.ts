/**
 * htmx request headers parsed once per request into a typed object, and the helpers that answer
 * htmx correctly (never a 3xx: the browser would follow it invisibly, possibly to the IdP).
 * Header names: https://htmx.org/reference/#request_headers
 */
import type Koa from 'koa';

export interface HtmxRequest {
  /** `HX-Request: true`: the request was made by htmx. */
  readonly request: boolean;
  /** `HX-Boosted`. */
  readonly boosted: boolean;
  /** `HX-History-Restore-Request`: htmx wants the full page to restore history. */
  readonly historyRestore: boolean;
  /** `HX-Current-URL`, the page's address when it was made; untrusted. */
  readonly currentUrl: string | undefined;
  /** `HX-Target` id. */
  readonly target: string | undefined;
}

const PARSED = new WeakMap<Koa.Context, HtmxRequest>();

/** The parsed htmx headers of `ctx` (memoised). */
export function htmx(ctx: Koa.Context): HtmxRequest {
  let h = PARSED.get(ctx);
  if (!h) {
    h = {
      request: ctx.get('hx-request') === 'true',
      boosted: ctx.get('hx-boosted') === 'true',
      historyRestore: ctx.get('hx-history-restore-request') === 'true',
      currentUrl: ctx.get('hx-current-url') || undefined,
      target: ctx.get('hx-target') || undefined,
    };
    PARSED.set(ctx, h);
  }
  return h;
}

/** True when a fragment (not a full page) should be rendered for this request. */
export function wantsFragment(ctx: Koa.Context): boolean {
  const h = htmx(ctx);
  ctx.vary('HX-Request');
  return h.request && !h.boosted && !h.historyRestore;
}

/** Full-page navigation for htmx: `HX-Redirect` (https://htmx.org/headers/hx-redirect/). */
export function setHxRedirect(ctx: Koa.Context, location: string): void {
  ctx.set('HX-Redirect', location);
}
