/** The demo's API under /api/* (the CSRF header check is applied to the whole prefix in app.ts). */
import Router from '@koa/router';
import { z } from 'zod';
import { UpstreamError, wantsFragment, type Bff } from 'koa-oidc-bff';
import type { Renderer } from '../views.ts';

/** What the demo shows of the remote API's answer; any other field (or a token) never reaches the page. */
const RemoteHello = z.object({
  message: z.string().max(1000),
  sub: z.string().max(255).optional(),
  scope: z.string().max(2000).optional(),
});

/** Builds the API router. `remoteApiUrl` is the upstream called with the user's access token. */
export function apiRoutes(bff: Bff, renderer: Renderer, options: { remoteApiUrl: URL }): Router {
  const router = new Router({ prefix: '/api' });
  const remoteHello = new URL(`${options.remoteApiUrl.href.replace(/\/+$/, '')}/resource/hello`);

  router.get('/hello', bff.requireUser(), async function hello(ctx) {
    const user = ctx.state.user!;
    const message = `Hello, ${user.name ?? user.sub}! This message came from the API.`;
    ctx.set('Cache-Control', 'no-store');
    if (wantsFragment(ctx)) {
      ctx.type = 'html';
      ctx.body = renderer.render('partials/api-hello', { message });
    } else {
      ctx.body = { message, sub: user.sub };
    }
  });

  router.get('/remote/hello', bff.requireUser(), async function remoteHelloRoute(ctx) {
    const upstream = await bff.callApi(ctx, remoteHello, { headers: { accept: 'application/json' } });
    if (upstream.status !== 200) {
      throw new UpstreamError('ERR_UPSTREAM_STATUS', 'The remote API refused the request.', { detail: `${remoteHello.origin} answered ${upstream.status} (${upstream.headers.get('content-type') ?? 'no content type'})` });
    }
    const parsed = RemoteHello.safeParse(parseJson(upstream.text));
    if (!parsed.success) throw new UpstreamError('ERR_UPSTREAM_RESPONSE', 'The remote API gave an unexpected answer.', { detail: parsed.error.message });
    const answer = parsed.data;
    ctx.set('Cache-Control', 'no-store');
    if (wantsFragment(ctx)) {
      ctx.type = 'html';
      ctx.body = renderer.render('partials/remote-hello', { ...answer, scopes: answer.scope?.split(' ') ?? [] });
    } else {
      ctx.body = answer;
    }
  });

  return router;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
