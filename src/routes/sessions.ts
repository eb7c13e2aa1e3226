/**
 * "Your sessions" (`GET /sessions`): the logged-in user's live sessions, with forms to end one
 * (`POST /sessions/:ref/end`) or all the others (`POST /sessions/end-others`). The work is the
 * BFF package's sessions API; this module renders it. Forms need a same-origin Origin and the
 * session's CSRF token (`bff.requireCsrf()`).
 */
import Router from '@koa/router';
import type Koa from 'koa';
import { AppError, AuthRequiredError, htmx, setHxRedirect, StepUpRequiredError, type Bff, type StepUpRequirement } from 'koa-oidc-bff';
import { deviceSummary } from './device-summary.ts';
import type { PageRenderer } from './render.ts';

export interface SessionRoutesOptions {
  bff: Bff;
  page: PageRenderer;
  /** Step-up (RFC 9470) that "End all other sessions" requires; undefined: none. */
  stepUp?: StepUpRequirement | undefined;
}

/** One row of the page. Times are ISO strings and a short UTC text. */
export interface SessionRow {
  ref: string;
  current: boolean;
  device: string;
  createdIso: string;
  createdText: string;
  lastSeenIso: string;
  lastSeenText: string;
}

const utc = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** Builds the router. */
export function sessionRoutes(options: SessionRoutesOptions): Router {
  const { bff, page } = options;
  const router = new Router();
  const requireUser = bff.requireUser();
  const requireCsrf = bff.requireCsrf({ limit: '4kb' });
  const stepUp = options.stepUp ? bff.requireUser(options.stepUp) : undefined;
  /** For the page's note under "End all other sessions": `acr` (a second factor), `recent` (a recent login), or none. */
  const stepUpNote = options.stepUp?.acr !== undefined ? 'acr' : options.stepUp ? 'recent' : undefined;

  /**
   * The step-up "End all other sessions" needs, checked after the CSRF token: a navigation comes
   * back to the list after the stronger login (the user then confirms again), not to the POST URL.
   */
  async function requireStepUp(ctx: Koa.Context, next: Koa.Next): Promise<void> {
    if (!stepUp) return next();
    try {
      await stepUp(ctx, async () => undefined);
    } catch (err) {
      if (err instanceof StepUpRequiredError && !htmx(ctx).request) throw new StepUpRequiredError('/sessions', err.acrValues, err.maxAge);
      throw err;
    }
    await next();
  }

  /** requireUser for the forms: a navigation comes back to the list after logging in, not to the POST URL. */
  async function requireFormUser(ctx: Koa.Context, next: Koa.Next): Promise<void> {
    try {
      await requireUser(ctx, async () => undefined);
    } catch (err) {
      if (err instanceof AuthRequiredError && !htmx(ctx).request) throw new AuthRequiredError(err.sessionEnded, '/sessions');
      throw err;
    }
    await requireCsrf(ctx, next);
  }

  async function rows(ctx: Koa.Context): Promise<SessionRow[]> {
    return (await bff.sessions.list(ctx)).map((s) => ({
      ref: s.ref,
      current: s.current,
      device: deviceSummary(s.userAgent),
      createdIso: new Date(s.createdAt).toISOString(),
      createdText: utc(s.createdAt),
      lastSeenIso: new Date(s.lastSeenAt).toISOString(),
      lastSeenText: utc(s.lastSeenAt),
    }));
  }

  /** htmx: the refreshed list in place; a plain form: back to the page (303, POST-redirect-GET). */
  async function answer(ctx: Koa.Context, notice: string): Promise<void> {
    if (htmx(ctx).request) {
      page(ctx, 'sessions', { title: 'Your sessions', sessions: await rows(ctx), notice, stepUp: stepUpNote });
      return;
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 303;
    ctx.redirect('/sessions');
  }

  router.get('/sessions', requireUser, async function listSessions(ctx) {
    page(ctx, 'sessions', { title: 'Your sessions', sessions: await rows(ctx), stepUp: stepUpNote });
  });

  router.post('/sessions/end-others', requireFormUser, requireStepUp, async function endOtherSessions(ctx) {
    const ended = await bff.sessions.endOthers(ctx);
    await answer(ctx, ended === 1 ? '1 other session ended.' : `${ended} other sessions ended.`);
  });

  router.post('/sessions/:ref/end', requireFormUser, async function endOneSession(ctx) {
    const ended = await bff.sessions.end(ctx, ctx.params.ref ?? '');
    if (!ended) throw new AppError(404, 'ERR_SESSION_NOT_FOUND', 'This session does not exist or has already ended.');
    if (ended === 'current') {
      // Ending this browser's own session: a local logout (the IdP session stays; "Log out" ends both).
      ctx.set('Cache-Control', 'no-store');
      if (htmx(ctx).request) {
        setHxRedirect(ctx, '/');
        ctx.status = 204;
      } else {
        ctx.status = 303;
        ctx.redirect('/');
      }
      return;
    }
    await answer(ctx, 'Session ended.');
  });

  return router;
}
