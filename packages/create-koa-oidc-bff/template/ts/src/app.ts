/**
 * The app: a public page, a protected page and a protected JSON route. koa-oidc-bff adds the
 * login (GET /login, POST /callback), the logout (POST /logout) and the server-side session.
 */
import Koa from 'koa';
import Router from '@koa/router';
import { createBff, type BffOptions } from 'koa-oidc-bff';

/** Names and emails come from the IdP: escape them in HTML. */
const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title: string, body: string) => `<!doctype html><meta charset="utf-8"><title>${escape(title)}</title>${body}`;

export function createApp(options: BffOptions) {
  const bff = createBff(options);
  const router = new Router();
  router.get('/', (ctx) => {
    ctx.body = page('Welcome', '<h1>Welcome</h1><p>Anyone may see this page. <a href="/profile">Your profile</a> needs a login.</p>');
  });
  router.get('/profile', bff.requireUser(), (ctx) => {
    const user = ctx.state.user!;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = page('Profile', `<h1>Hello, ${escape(user.name ?? user.sub)}</h1><p>${escape(user.email ?? '')}</p>
<form method="post" action="/logout"><input type="hidden" name="_csrf" value="${escape(bff.csrfToken(ctx) ?? '')}"><button>Log out</button></form>`);
  });
  // Scripts call it with `Accept: application/json` and `X-CSRF: 1` (required under /api/).
  router.get('/api/me', bff.requireUser(), (ctx) => {
    ctx.body = ctx.state.user;
  });
  const app = new Koa();
  app.use(bff.middleware());
  app.use(router.routes());
  return { app, bff };
}
