/** The demo's API under /api/* (the CSRF header check is applied to the whole prefix in app.ts). */
import Router from '@koa/router';
import type { Bff } from '../auth/index.ts';
import { wantsFragment } from '../http/htmx.ts';
import type { Renderer } from '../views.ts';

/** Builds the API router. */
export function apiRoutes(bff: Bff, renderer: Renderer): Router {
  const router = new Router({ prefix: '/api' });
  router.get('/hello', bff.requireUser(), async function hello(ctx) {
    const user = bff.user(ctx)!.user;
    const message = `Hello, ${user.name ?? user.sub}! This message came from the API.`;
    ctx.set('Cache-Control', 'no-store');
    if (wantsFragment(ctx)) {
      ctx.type = 'html';
      ctx.body = renderer.render('partials/api-hello', { message });
    } else {
      ctx.body = { message, sub: user.sub };
    }
  });
  return router;
}
