/** The demo's pages: home (public), profile (logged-in users), and a friendly page for a `GET /callback`. */
import Router from '@koa/router';
import type { Bff } from 'koa-oidc-bff';
import { takeSignedOut } from '../http/signed-out-notice.ts';
import { profileView } from './profile-view.ts';
import type { PageRenderer } from './render.ts';

/** Builds the page router. */
export function pageRoutes(bff: Bff, page: PageRenderer): Router {
  const router = new Router();
  router.get('/', async function home(ctx) {
    page(ctx, 'home', { signedOut: takeSignedOut(ctx) });
  });
  router.get('/profile', bff.requireUser(), async function profile(ctx) {
    page(ctx, 'profile', { profile: profileView((await bff.claims(ctx)) ?? {}), title: 'Profile' });
  });
  // The callback is the IdP's POST; a GET is a reload or a bookmark of its address, not a protocol error.
  router.get('/callback', async function callbackPage(ctx) {
    ctx.set('Allow', 'POST');
    page(ctx, 'callback', { title: 'Nothing to see here' });
    ctx.status = 405;
  });
  return router;
}
