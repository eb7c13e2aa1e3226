import Router from '@koa/router';
import bodyParser from 'koa-bodyparser';
import type { Context } from 'koa';
import type { InteractionResults } from 'oidc-provider';
import type { AccountDirectory } from './accounts.ts';
import { errors, type Provider } from './oidc-provider-module.ts';
import { finishedInteraction } from './pages.ts';
import { ACR_MFA, ACR_PASSWORD, OneTimeCodes, wantsMfa } from './step-up.ts';
import { renderError, renderLogin, renderOtp } from './views.ts';
import { rememberInteraction } from './way-back.ts';

type ProviderInstance = InstanceType<typeof Provider>;

/** Formats an error for the page: OAuth error code and description only (never a stack). */
function publicError(err: unknown): { status: number; error: string; description?: string } {
  if (err instanceof errors.OIDCProviderError) {
    return { status: err.status, error: err.error, description: err.error_description };
  }
  return { status: 500, error: 'server_error', description: 'unexpected error, see the dev-idp log' };
}

/**
 * The login UI (custom interactions; devInteractions are off), mounted on the provider with
 * `provider.use(...)`:
 * - GET  /interaction/:uid        login page; a `consent` prompt (only raised by prompt=consent, the
 *                                  session being already signed in) is accepted at once, without a page
 * - POST /interaction/:uid/login  form fields `username`, `password`; 401 page on failure, else 303
 *                                  back to the provider with login and (implied, first-party) consent
 * - GET  /interaction/:uid/otp    second step when `acr_values` asks for the dev-idp's MFA acr: the
 *                                  one-time code shown on its own page, and a form to type it
 * - POST /interaction/:uid/otp    field `otp`; 401 page on a wrong code, else login with acr MFA
 * - POST /interaction/:uid/abort  ends the request with error=access_denied (OIDC Core 3.1.2.6)
 * The body parser sits on these POST routes only: one in front of the provider breaks /token.
 * The interaction cookie (SameSite=Lax, path /interaction/<uid>) is the CSRF defence here.
 */
export function interactionRoutes(provider: ProviderInstance, accounts: AccountDirectory, log: (line: string) => void): ReturnType<Router['routes']> {
  const router = new Router();
  const form = bodyParser({ enableTypes: ['form'], formLimit: '16kb' });
  const codes = new OneTimeCodes();

  const loadInteraction = async (ctx: Context) => {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.uid !== ctx.params.uid) throw new errors.SessionNotFound('interaction does not match this page; start again from the app');
    return details;
  };

  const finish = async (ctx: Context, result: InteractionResults, merge: boolean) => {
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: merge });
    ctx.redirect(returnTo);
    ctx.status = 303;
  };

  const showLogin = async (ctx: Context, clientId: unknown, extra: { username?: string; error?: string } = {}) => {
    const client = typeof clientId === 'string' ? await provider.Client.find(clientId) : undefined;
    ctx.type = 'html';
    ctx.body = renderLogin({
      clientName: client?.clientName ?? String(clientId),
      loginAction: `/interaction/${ctx.params.uid}/login`,
      abortAction: `/interaction/${ctx.params.uid}/abort`,
      accounts: accounts.all.map((a) => ({ username: a.username, password: a.password, name: String(a.claims.name ?? '') })),
      ...extra,
    });
  };

  router.use(async function interactionErrors(ctx, next) {
    ctx.set('Cache-Control', 'no-store');
    try {
      await next();
    } catch (err) {
      // Back or reload on a finished login page: back into the app, not a protocol error.
      if (err instanceof errors.SessionNotFound && ctx.method === 'GET') return finishedInteraction(ctx, provider);
      const { status, error, description } = publicError(err);
      if (status >= 500) log(`dev-idp: interaction error: ${(err as Error).stack ?? String(err)}`);
      ctx.status = status;
      ctx.type = 'html';
      ctx.body = renderError({ error, description });
    }
  });

  router.get('/interaction/:uid', async function interactionPage(ctx) {
    const { prompt, params } = await loadInteraction(ctx);
    if (prompt.name === 'consent') return finish(ctx, { consent: {} }, true);
    if (prompt.name !== 'login') throw new errors.InvalidRequest(`unsupported prompt "${prompt.name}"`);
    if (typeof params.client_id === 'string') rememberInteraction(ctx.params.uid!, params.client_id);
    await showLogin(ctx, params.client_id);
  });

  router.post('/interaction/:uid/login', form, async function login(ctx) {
    const { prompt, params } = await loadInteraction(ctx);
    if (prompt.name !== 'login') throw new errors.InvalidRequest('this sign-in was already completed; start again from the app');
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    const username = typeof body.username === 'string' ? body.username : '';
    const password = typeof body.password === 'string' ? body.password : '';
    const account = accounts.authenticate(username, password);
    if (!account) {
      ctx.status = 401;
      return showLogin(ctx, params.client_id, { username, error: 'Unknown username or wrong password.' });
    }
    if (wantsMfa(params.acr_values)) {
      codes.issue(ctx.params.uid!, account.claims.sub);
      ctx.status = 303;
      ctx.redirect(`/interaction/${ctx.params.uid}/otp`);
      return;
    }
    // consent: {} answers a consent prompt up front: registered clients are first-party.
    await finish(ctx, { login: { accountId: account.claims.sub, acr: ACR_PASSWORD, amr: ['pwd'] }, consent: {} }, false);
  });

  const showOtp = async (ctx: Context, clientId: unknown, code: string, error?: string) => {
    const client = typeof clientId === 'string' ? await provider.Client.find(clientId) : undefined;
    ctx.type = 'html';
    ctx.body = renderOtp({ clientName: client?.clientName ?? String(clientId), code, action: `/interaction/${ctx.params.uid}/otp`, abortAction: `/interaction/${ctx.params.uid}/abort`, error });
  };

  router.get('/interaction/:uid/otp', async function otpPage(ctx) {
    const { params } = await loadInteraction(ctx);
    const pending = codes.peek(ctx.params.uid!);
    if (!pending) throw new errors.InvalidRequest('no second step is pending; start again from the app');
    await showOtp(ctx, params.client_id, pending.code);
  });

  router.post('/interaction/:uid/otp', form, async function otp(ctx) {
    const { params } = await loadInteraction(ctx);
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    const accountId = codes.redeem(ctx.params.uid!, typeof body.otp === 'string' ? body.otp.trim() : '');
    if (!accountId) {
      const pending = codes.peek(ctx.params.uid!);
      if (!pending) throw new errors.InvalidRequest('no second step is pending; start again from the app');
      ctx.status = 401;
      return showOtp(ctx, params.client_id, pending.code, 'Wrong code.');
    }
    await finish(ctx, { login: { accountId, acr: ACR_MFA, amr: ['pwd', 'otp'] }, consent: {} }, false);
  });

  router.post('/interaction/:uid/abort', form, async function abort(ctx) {
    await loadInteraction(ctx);
    await finish(ctx, { error: 'access_denied', error_description: 'End-User aborted interaction' }, false);
  });

  return router.routes();
}
