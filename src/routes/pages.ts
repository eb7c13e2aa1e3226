/** The demo's pages: home (public) and profile (logged-in users). */
import Router from '@koa/router';
import type { Bff } from 'koa-oidc-bff';
import type { PageRenderer } from './render.ts';

/** Builds the page router. */
export function pageRoutes(bff: Bff, page: PageRenderer): Router {
  const router = new Router();
  router.get('/', async function home(ctx) {
    page(ctx, 'home');
  });
  router.get('/profile', bff.requireUser(), async function profile(ctx) {
    page(ctx, 'profile', { claims: (await bff.claims(ctx)) ?? {}, title: 'Profile' });
  });
  return router;
}
