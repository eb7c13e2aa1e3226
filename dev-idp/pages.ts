import type { KoaContextWithOIDC } from 'oidc-provider';
import { renderError, renderLoggedOut, renderLogout } from './views.ts';

/**
 * The provider-rendered pages, in the dev-idp's look (and without oidc-provider's "you SHOULD
 * change this" notices):
 * - logout.logoutSource: the RP-initiated logout confirmation (OIDC RP-Initiated Logout 1.0 2).
 *   When the request carries a valid `id_token_hint` for the signed-in user, the page submits
 *   itself with logout=yes; otherwise the user chooses: "Yes, sign me out" (logout=yes: the
 *   whole IdP session, back-channel logout to every app in it) or "Only sign out of <app>".
 * - logout.postLogoutSuccessSource: shown when no post_logout_redirect_uri was given.
 * - renderError: the error page; shows only the public `error` and `error_description`.
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
      ctx.type = 'html';
      ctx.body = renderLoggedOut({ clientName: ctx.oidc.client?.clientName });
    },
  },
  async renderError(ctx: KoaContextWithOIDC, out: { error: string; error_description?: string | undefined }) {
    ctx.type = 'html';
    ctx.body = renderError({ error: out.error, description: out.error_description });
  },
};
