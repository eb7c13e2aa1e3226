/**
 * koa-oidc-bff: an OpenID Connect backend-for-frontend for Koa. One factory, its options, the
 * error classes a host may throw or catch, the store contract, and the htmx helpers.
 *
 * ```js
 * const bff = createBff({ issuer, clientId, clientSecret, baseUrl, secrets, store });
 * app.use(bff.middleware());
 * router.get('/api/me', bff.requireUser(), (ctx) => { ctx.body = bff.user(ctx); });
 * ```
 */
import type { BffUser } from './bff.ts';

export { createBff, type Bff, type BffReadiness, type BffUser } from './bff.ts';
export { BffOptionsError, checkOptions, type BffOptions, type ErrorView, type RedisClientLike, type RenderHooks } from './options.ts';
export { AppError, AuthRequiredError, ForbiddenError, LoginError, UnavailableError, UpstreamError, publicView, type AppErrorOptions } from './errors.ts';
export { AUTH_EVENTS, type AuthEvent, type AuthEventListener, type AuthEventPayload, type CsrfCheck } from './events.ts';
export { sessionIdHash, type BffLogger, type LogMethod } from './log.ts';
export { htmx, setHxRedirect, wantsFragment, type HtmxRequest } from './http/htmx.ts';
export { SESSION_EXPECTED_HEADER } from './session/require-user.ts';
export type { SessionInfo, SessionsApi } from './session/sessions-api.ts';
export type { SessionRecord, SessionStore } from './session/store.ts';
export { requestSpan } from './telemetry/request-span.ts';
export { bffMetricProducer, type BffMetricProducer } from './telemetry/metric-producer.ts';
export { StoreUnavailableError } from './session/store-errors.ts';
export type { UpstreamRequest, UpstreamResponse } from './tokens/upstream.ts';
export { StepUpRequiredError, type StepUpRequirement } from './session/step-up.ts';

declare module 'koa' {
  interface DefaultState {
    /** The logged-in user, set by `bff.requireUser()` (display claims only). */
    user?: BffUser;
    /** A request id the host may set (logged with every auth event and shown on error pages). */
    requestId?: string;
  }
}
