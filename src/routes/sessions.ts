/**
 * "Your sessions" (`GET /sessions`): the logged-in user's live sessions, with forms to end one
 * (`POST /sessions/:ref/end`) or all the others (`POST /sessions/end-others`).
 *
 * Session ids are bearer secrets, so the page names each session by `ref`, a one-way hash of its
 * id (the same reference the logs use); a ref is only looked up among the user's own sessions, so
 * nobody can end another user's session. Forms need a same-origin Origin and the session's CSRF
 * token. Ending is a store delete: every instance sees it on the next request.
 */
import Router from '@koa/router';
import type Koa from 'koa';
import type { Bff } from '../auth/index.ts';
import { AUTH_EVENTS, logAuthEvent } from '../auth/events.ts';
import { endSession } from '../auth/user-session.ts';
import { AppError, AuthRequiredError } from '../errors.ts';
import { formBody } from '../http/body.ts';
import { verifyFormRequest } from '../http/csrf.ts';
import { htmx, setHxRedirect } from '../http/htmx.ts';
import { sessionIdHash, type Logger } from '../log.ts';
import { sessionState } from '../session/session-middleware.ts';
import type { SessionStore } from '../session/store.ts';
import { deviceSummary } from './device-summary.ts';
import type { PageRenderer } from './render.ts';

export interface SessionRoutesOptions {
  bff: Bff;
  store: SessionStore;
  page: PageRenderer;
  baseUrl: URL;
  logger: Logger;
  /** Clock in ms. */
  now: () => number;
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

const REF = /^[A-Za-z0-9_-]{12}$/;
const utc = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** Builds the router. */
export function sessionRoutes(options: SessionRoutesOptions): Router {
  const { bff, store, page, logger, now } = options;
  const origin = options.baseUrl.origin;
  const router = new Router();
  const requireUser = bff.requireUser();
  const parseForm = formBody({ limit: '4kb', malformed: () => new AppError(400, 'ERR_BAD_REQUEST', 'The form could not be read.') });

  /** requireUser for the forms: a navigation comes back to the list after logging in, not to the POST URL. */
  async function requireFormUser(ctx: Koa.Context, next: Koa.Next): Promise<void> {
    try {
      await requireUser(ctx, async () => undefined);
    } catch (err) {
      if (err instanceof AuthRequiredError && !htmx(ctx).request) throw new AuthRequiredError(err.sessionEnded, '/sessions');
      throw err;
    }
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    verifyFormRequest(ctx, origin, bff.user(ctx)!.csrfSecret, body._csrf);
    await next();
  }

  async function rows(ctx: Koa.Context): Promise<SessionRow[]> {
    const currentId = sessionState(ctx).record!.id;
    const records = await store.listBySub(bff.user(ctx)!.user.sub, now());
    return records.map((r) => ({
      ref: sessionIdHash(r.id),
      current: r.id === currentId,
      device: deviceSummary(r.userAgent),
      createdIso: new Date(r.createdAt).toISOString(),
      createdText: utc(r.createdAt),
      lastSeenIso: new Date(r.lastSeenAt).toISOString(),
      lastSeenText: utc(r.lastSeenAt),
    }));
  }

  /** htmx: the refreshed list in place; a plain form: back to the page (303, POST-redirect-GET). */
  async function answer(ctx: Koa.Context, notice: string): Promise<void> {
    if (htmx(ctx).request) {
      page(ctx, 'sessions', { title: 'Your sessions', sessions: await rows(ctx), notice });
      return;
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 303;
    ctx.redirect('/sessions');
  }

  router.get('/sessions', requireUser, async function listSessions(ctx) {
    page(ctx, 'sessions', { title: 'Your sessions', sessions: await rows(ctx) });
  });

  router.post('/sessions/end-others', parseForm, requireFormUser, async function endOtherSessions(ctx) {
    const current = sessionState(ctx).record!;
    const ended = await store.destroyBySub(current.sub, current.id);
    logAuthEvent(logger, AUTH_EVENTS.otherSessionsEnded, { sub: current.sub, sessionId: current.id, count: ended, requestId: ctx.state.requestId as string | undefined });
    await answer(ctx, ended === 1 ? '1 other session ended.' : `${ended} other sessions ended.`);
  });

  router.post('/sessions/:ref/end', parseForm, requireFormUser, async function endOneSession(ctx) {
    const ref = ctx.params.ref ?? '';
    const current = sessionState(ctx).record!;
    const target = REF.test(ref) ? (await store.listBySub(current.sub, now())).find((r) => sessionIdHash(r.id) === ref) : undefined;
    // Unknown, already ended, or another user's: indistinguishable on purpose.
    if (!target) throw new AppError(404, 'ERR_SESSION_NOT_FOUND', 'This session does not exist or has already ended.');
    logAuthEvent(logger, AUTH_EVENTS.sessionEndedByUser, { sub: current.sub, sessionId: target.id, bySessionId: current.id, requestId: ctx.state.requestId as string | undefined });
    if (target.id === current.id) {
      // Ending this browser's own session: a local logout (the IdP session stays; "Log out" ends both).
      endSession(ctx);
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
    await store.destroy(target.id);
    await answer(ctx, 'Session ended.');
  });

  return router;
}
