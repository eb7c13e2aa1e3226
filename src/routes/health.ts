/** `GET /healthz` (the process is up) and `GET /readyz` (IdP discovery loaded and store answering). */
import Router from '@koa/router';
import type Koa from 'koa';
import compose from 'koa-compose';
import type { Bff } from 'koa-oidc-bff';

/**
 * Builds the health routes as one middleware; mount it before the session middleware (no cookie
 * work for probes). Other paths skip the router's matching pass.
 */
export function healthRoutes(bff: Pick<Bff, 'readiness'>): Koa.Middleware {
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
  // @koa/router's context type is stricter than Koa's Middleware; the runtime contract is the same.
  const routes = compose([router.routes(), router.allowedMethods()] as unknown as Koa.Middleware[]);
  const paths = new Set(['/healthz', '/readyz']);
  return function health(ctx, next) {
    return paths.has(ctx.path.toLowerCase().replace(/\/+$/, '')) ? routes(ctx, next) : next();
  };
}
