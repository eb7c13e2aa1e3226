import type { KoaContextWithOIDC } from 'oidc-provider';
import { errors } from './oidc-provider-module.ts';
import { renderError, renderLoggedOut, renderLogout } from './views.ts';
import { allHomes, homeOfClient, homeOfInteraction, interactionUidOf, type AppHome } from './way-back.ts';

type ProviderInstance = KoaContextWithOIDC['oidc']['provider'];
/** What {@link finishedInteraction} uses of a Koa context (oidc-provider's or the interaction router's). */
interface AnswerContext {
  path: string;
  status: number;
  type: string;
  body: unknown;
  redirect(url: string): void;
  set(field: string, value: string): void;
}

/**
 * The provider-rendered pages, in the dev-idp's look (and without oidc-provider's "you SHOULD
 * change this" notices):
 * - logout.logoutSource: the RP-initiated logout confirmation (OIDC RP-Initiated Logout 1.0 2).
 *   When the request carries a valid `id_token_hint` for the signed-in user, the page submits
 *   itself with logout=yes; otherwise the user chooses: "Yes, sign me out" (logout=yes: the
 *   whole IdP session, back-channel logout to every app in it) or "Only sign out of <app>".
 * - logout.postLogoutSuccessSource: shown when no post_logout_redirect_uri was given, with a link
 *   back to the app (its registered home).
 * - renderError: the error page; shows only the public `error` and `error_description`. A
 *   finished or expired interaction (Back after a login, a reload) is not an error to the user:
 *   see {@link finishedInteraction}.
 */
export const pageHooks = {
  logout: {
    async logoutSource(ctx: KoaContextWithOIDC, form: string) {
      const hint = ctx.oidc.entities.IdTokenHint as { payload?: { sub?: unknown } } | undefined;
      const autoSubmit = hint?.payload?.sub !== undefined && hint.payload.sub === ctx.oidc.session?.accountId;
      ctx.type = 'html';
      ctx.body = renderLogout({ form, autoSubmit, clientName: ctx.oidc.client?.clientName });
    },
    async postLogoutSuccessSource(ctx: KoaContextWithOIDC) {
      const client = ctx.oidc.client;
      const home = client ? await homeOfClient(ctx.oidc.provider, client.clientId) : undefined;
      ctx.type = 'html';
      ctx.body = renderLoggedOut({ clientName: client?.clientName, homes: home ? [home] : allHomes(ctx.oidc.provider) });
    },
  },
  async renderError(ctx: KoaContextWithOIDC, out: { error: string; error_description?: string | undefined }, error?: unknown) {
    if (error instanceof errors.SessionNotFound && (ctx.method === 'GET' || ctx.method === 'HEAD')) {
      await finishedInteraction(ctx, ctx.oidc.provider);
      return;
    }
    ctx.type = 'html';
    ctx.body = renderError({ error: out.error, description: out.error_description });
  },
};

/**
 * A GET of an interaction or resume address whose interaction is gone (finished, expired, another
 * browser's): 303 to the app it belonged to when this process showed it, else a page (400) with a
 * link to each registered app.
 */
export async function finishedInteraction(ctx: AnswerContext, provider: ProviderInstance): Promise<void> {
  const uid = interactionUidOf(ctx);
  const home: AppHome | undefined = uid ? await homeOfInteraction(provider, uid) : undefined;
  ctx.set('Cache-Control', 'no-store');
  if (home) {
    ctx.redirect(home.home);
    ctx.status = 303;
    return;
  }
  ctx.status = 400;
  ctx.type = 'html';
  ctx.body = renderError({
    error: 'invalid_request',
    description: 'this sign-in has already finished or its session expired',
    title: 'Sign-in finished',
    homes: allHomes(provider),
  });
}
