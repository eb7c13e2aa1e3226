/** `GET /healthz` (the process is up) and `GET /readyz` (IdP discovery loaded and store answering). */
import Router from '@koa/router';
import type { Bff } from 'koa-oidc-bff';

/** Builds the health router; mount it before the session middleware (no cookie work for probes). */
export function healthRoutes(bff: Pick<Bff, 'readiness'>): Router {
  const router = new Router();
  router.get('/healthz', async function healthz(ctx) {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async function readyz(ctx) {
    const { ready, checks } = await bff.readiness();
    ctx.set('Cache-Control', 'no-store');
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'unavailable', checks };
  });
  return router;
}
