/** `GET /healthz` (the process is up) and `GET /readyz` (IdP discovery loaded and store answering). */
import Router from '@koa/router';
import type { OidcClient } from '../auth/oidc.ts';
import type { SessionStore } from '../session/store.ts';

/** Builds the health router; mount it before the session middleware (no cookie work for probes). */
export function healthRoutes(deps: { oidc: OidcClient; store: SessionStore }): Router {
  const router = new Router();
  router.get('/healthz', async function healthz(ctx) {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async function readyz(ctx) {
    const store = await Promise.race([
      deps.store.ping().then(() => true, () => false),
      new Promise<boolean>((resolve) => setTimeout(resolve, 1000, false).unref()),
    ]);
    const idp = deps.oidc.ready;
    ctx.set('Cache-Control', 'no-store');
    ctx.status = store && idp ? 200 : 503;
    ctx.body = { status: store && idp ? 'ready' : 'unavailable', checks: { idp: idp ? 'up' : 'down', store: store ? 'up' : 'down' } };
  });
  return router;
}
