/**
 * The session: the cookie carries only an opaque, signed id; the session lives on the server
 * with an idle timeout (renewed in the store, never by re-sending the cookie) and an absolute
 * lifetime.
 *
 * Two paths share the cookie format, the store and the expiry rules ({@link SessionLoader}):
 * - requests with an unsafe method (POST...: login callback, logout, forms) go through
 *   koa-session, which commits changes; a login is stored by {@link SessionLayer.startLogin}
 *   under a fresh id, beside koa-session (never through the pre-login session object);
 * - safe requests (GET, HEAD, OPTIONS: every page and API read) take a lean path: verify the
 *   cookie, one store read, no commit and no change detection. They never write the session;
 *   ending it (a stale cookie, a grant gone) destroys the record and clears the cookie exactly
 *   as koa-session's removal does.
 *
 * Both paths read the cookie the same way (once per request): a signature from an older key is
 * renewed and a cookie under the legacy name moved once the session is known to be live; a
 * signature no key verifies makes the cookie absent for the request, logged once, never deleted.
 * Every session cookie write is Secure when the configured origin is https, whatever the hop.
 */
import { randomBytes } from 'node:crypto';
import type Koa from 'koa';
import createSession from 'koa-session';
import { inRequestSpan } from '../telemetry/request-span.ts';
import { UnavailableError } from '../errors.ts';
import type { BffLogger } from '../log.ts';
import type { CookieSigner } from './cookie-signature.ts';
import { SessionCookie } from './session-cookie.ts';
import { StoreUnavailableError } from './store-errors.ts';
import type { SessionRecord, SessionStore, TokenRecord } from './store.ts';

export interface SessionMiddlewareOptions {
  store: SessionStore;
  /** Cookie name, e.g. `bff.sid` or `__Host-Http-bff.sid`; its signature goes in `<cookieName>.sig`. */
  cookieName: string;
  /**
   * A former name of the session cookie (e.g. `__Host-bff.sid` before the `__Host-Http-` prefix):
   * read only when the browser has no cookie under `cookieName`, then reissued under `cookieName`
   * and cleared (a migration that keeps existing sessions).
   */
  legacyCookieName?: string | undefined;
  /** Where a cookie whose signature does not verify is reported (`session.bad_signature`, once per cookie). */
  logger?: BffLogger | undefined;
  /** Signs and verifies the session cookie (the package's own keys, never `app.keys`). */
  signer: CookieSigner;
  /**
   * Cookie `Secure` attribute (true for an https base URL). The configured origin decides, not the
   * hop: a request that reaches the app over plain http (a proxy without `X-Forwarded-Proto`, a
   * health checker) still gets Secure cookies and never a 500 from the cookie library.
   */
  secure: boolean;
  /** Seconds without activity after which the session ends. */
  idleTimeout: number;
  /** Seconds after login after which the session ends whatever the activity. */
  absoluteTimeout: number;
  /** Clock in ms, for tests. */
  now?: () => number;
}

/** What the session layer learned about this request's session, beyond its data. */
export interface SessionState {
  /** The browser sent a (validly signed) session cookie. */
  cookiePresent: boolean;
  /** The session id that cookie carries (live or not). Secret: log only its hash. */
  cookieSessionId: string | undefined;
  /** The stored record's metadata, when the cookie named a live session. */
  record: Omit<SessionRecord, 'data'> | undefined;
  /** Set when the store could not be reached while loading the session. */
  storeError: unknown;
}

const STATE = new WeakMap<Koa.Context, SessionState>();
/** Requests whose next save creates a login, with the token record and IdP session id to store beside it. */
const CREATING = new WeakMap<Koa.Context, { tokens: TokenRecord | undefined; sid: string | undefined; sub: string | undefined }>();
/** Safe requests: the hot record loaded by the lean path, and whether the request ended the session. */
const LEAN = new WeakMap<Koa.Context, { data: Record<string, unknown> | undefined; ended: boolean }>();
/** Methods that never change state (RFC 9110 9.2.1): their requests take the lean path. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The lean path's view of the request's session, or undefined when koa-session handles it. */
export function leanSession(ctx: Koa.Context): { data: Record<string, unknown> | undefined; ended: boolean } | undefined {
  return LEAN.get(ctx);
}

/** The session data as loaded (or created) in this request: what a save is compared with. */
const LOADED = new WeakMap<Koa.Context, Record<string, unknown>>();
/** Requests whose session the store accepted (created or updated): only those may send the cookie. */
const SAVED = new WeakSet<Koa.Context>();
/** koa-session's bookkeeping keys; the store enforces expiry itself, so they are not stored. */
const INTERNAL_KEYS = ['_expire', '_maxAge', '_session'];

/** `sess` without koa-session's bookkeeping keys. */
function storable(sess: Record<string, unknown>): Record<string, unknown> {
  const data = { ...sess };
  for (const key of INTERNAL_KEYS) delete data[key];
  return data;
}

/**
 * The top-level keys of `next` that differ from `previous`, and those it no longer has: what an
 * update writes, so that concurrent requests changing different keys do not overwrite each other.
 */
export function sessionChanges(previous: Record<string, unknown>, next: Record<string, unknown>): { set: Record<string, unknown>; remove: string[] } {
  const set: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(next)) {
    if (JSON.stringify(value) !== JSON.stringify(previous[key])) set[key] = value;
  }
  const remove = Object.keys(previous).filter((key) => !(key in next));
  return { set, remove };
}

/** The session facts of `ctx` (see {@link SessionState}). */
export function sessionState(ctx: Koa.Context): SessionState {
  let s = STATE.get(ctx);
  if (!s) {
    s = { cookiePresent: false, cookieSessionId: undefined, record: undefined, storeError: undefined };
    STATE.set(ctx, s);
  }
  return s;
}

/**
 * Throws the store failure met while loading this request's session, if any: a route that must
 * know whether the user is logged in (logout, /api/session) answers 503 rather than guess.
 * @throws {StoreUnavailableError} (503 `ERR_SESSION_STORE_UNAVAILABLE`).
 */
export function assertSessionLoaded(ctx: Koa.Context): void {
  const { storeError } = sessionState(ctx);
  if (storeError) throw storeError instanceof StoreUnavailableError ? storeError : new StoreUnavailableError('session', storeError);
}

/**
 * Marks that the next save of this request's session creates a new record (a login), stored
 * together with `tokens` (the session's token record) in one store call.
 * @param sid the IdP session id (`sid` claim), indexed for back-channel logout.
 * @param sub the user's `sub`: the new session id comes from the store's `newId(sub)` when it has one.
 */
export function markSessionCreation(ctx: Koa.Context, tokens?: TokenRecord, sid?: string, sub?: string): void {
  CREATING.set(ctx, { tokens, sid, sub });
}

/** 192 random bits, base64url: short enough to keep the cookie under 100 bytes, far beyond guessing. */
export function newSessionId(): string {
  return randomBytes(24).toString('base64url');
}

/** A login to store under a fresh session id (see {@link SessionLayer.startLogin}). */
export interface NewLogin {
  /** The hot record (user display claims, CSRF secret). */
  data: Record<string, unknown>;
  /** The `sub` claim the record is indexed by. */
  sub: string;
  /** The IdP session id (`sid` claim), indexed for back-channel logout. */
  sid: string | undefined;
  /** The token record stored beside it. */
  tokens: TokenRecord | undefined;
}

/** The session middleware and the one operation that creates a session. */
export interface SessionLayer {
  middleware: Koa.Middleware;
  /**
   * Stores a login under a freshly generated id, never under the id the browser sent (session
   * fixation, OWASP ASVS 3.2.1): the session the browser's cookie names (possibly planted) is
   * destroyed first, then the new record is created, then the cookie is written. Nothing of the
   * login is ever put into the pre-login session object, so koa-session's commit cannot save it
   * under the old id. Unsafe methods only (the callback).
   * @returns the new session id.
   * @throws {StoreUnavailableError} (503) when the old record cannot be destroyed or the new one
   *   not created; {@link UnavailableError} 503 `ERR_SESSION_NOT_STARTED` when the cookie cannot be
   *   written (the new record is destroyed again). Either way no session exists afterwards.
   */
  startLogin(ctx: Koa.Context, login: NewLogin): Promise<string>;
}

/**
 * Builds the session middleware: koa-session, set up for each Koa app on its first request (it
 * extends that app's context), with the cookie signed by `options.signer`. `app.keys` is neither
 * read nor written.
 * @returns the middleware; it reads the store once per request that carries a session cookie.
 */
export function sessionMiddleware(options: SessionMiddlewareOptions): Koa.Middleware {
  return createSessionLayer(options).middleware;
}

/** Builds the session middleware and its login operation (see {@link SessionLayer}). */
export function createSessionLayer(options: SessionMiddlewareOptions): SessionLayer {
  const now = options.now ?? Date.now;
  const idleMs = options.idleTimeout * 1000;
  const absoluteMs = options.absoluteTimeout * 1000;
  // Write lastSeenAt at most this often: idle-timeout precision traded for one store write per minute, not per request.
  const touchEveryMs = Math.min(60_000, Math.max(1000, idleMs / 10));
  const { store } = options;
  // Store calls run through inRequestSpan, each on its own: children of a sampled request's span (telemetry/request-span.ts).
  const create = (record: SessionRecord, tokens: TokenRecord | undefined) => store.create(record, tokens);
  const destroy = (id: string) => store.destroy(id);
  const touch = (id: string, record: SessionRecord) => store.touch(id, record.lastSeenAt, record.idleExpiresAt);
  const cookie = new SessionCookie({ name: options.cookieName, legacyName: options.legacyCookieName, signer: options.signer, secure: options.secure, maxAgeMs: absoluteMs, logger: options.logger, now });
  /** Requests that stored a login through startLogin: koa-session's commit must not touch anything. */
  const STARTED = new WeakSet<Koa.Context>();
  const verifiedId = (ctx: Koa.Context) => cookie.read(ctx)?.id;

  /**
   * Loads session `id` for `ctx` (both paths): records what the request learned in its
   * {@link SessionState}, renews the idle timeout at most every `touchEveryMs`, and returns the
   * hot record, or undefined when the session is gone or the store failed.
   */
  async function load(ctx: Koa.Context, id: string): Promise<Record<string, unknown> | undefined> {
    const state = sessionState(ctx);
    state.cookiePresent = true;
    state.cookieSessionId = id;
    let record: SessionRecord | undefined;
    try {
      record = await store.get(id, now());
    } catch (err) {
      state.storeError = err;
      return undefined;
    }
    if (!record) return undefined;
    const t = now();
    if (t - record.lastSeenAt >= touchEveryMs) {
      record.lastSeenAt = t;
      record.idleExpiresAt = Math.min(t + idleMs, record.absoluteExpiresAt);
      await inRequestSpan(ctx, touch, id, record).catch(() => undefined);
    }
    const read = cookie.readEarlier(ctx);
    if (read) cookie.refresh(ctx, read, record.absoluteExpiresAt);
    const { data, ...meta } = record;
    state.record = meta;
    return data;
  }

  const adapter = {
    async get(id: string, _maxAge: number, { ctx }: { ctx?: Koa.Context }) {
      if (!ctx) return undefined;
      const data = await inRequestSpan(ctx, load, ctx, id);
      if (data) LOADED.set(ctx, data);
      return data;
    },
    async set(id: string, sess: Record<string, unknown>, _maxAge: number, { ctx }: { ctx?: Koa.Context }) {
      // startLogin stored this request's session itself; whatever koa-session holds is the pre-login one.
      if (ctx && STARTED.has(ctx)) return;
      const data = storable(sess);
      if (ctx && CREATING.has(ctx)) {
        const { tokens, sid } = CREATING.get(ctx)!;
        CREATING.delete(ctx);
        const t = now();
        const user = sess.user as { sub?: unknown } | undefined;
        const record: SessionRecord = {
          id,
          sub: String(user?.sub ?? ''),
          sid,
          createdAt: t,
          lastSeenAt: t,
          idleExpiresAt: Math.min(t + idleMs, t + absoluteMs),
          absoluteExpiresAt: t + absoluteMs,
          userAgent: String(ctx.get('user-agent')).slice(0, 256),
          data,
        };
        await inRequestSpan(ctx, create, record, tokens);
        SAVED.add(ctx);
        LOADED.set(ctx, data);
        const { data: _data, ...meta } = record;
        sessionState(ctx).record = meta;
        return;
      }
      const loaded = ctx && LOADED.get(ctx);
      const { set, remove } = sessionChanges(loaded ?? {}, data);
      if (Object.keys(set).length === 0 && remove.length === 0) {
        if (ctx && loaded) SAVED.add(ctx);
        return;
      }
      // An update never re-creates a session destroyed meanwhile (logout elsewhere, back-channel logout),
      // nor creates one for a visitor who is not logged in.
      if (await inRequestSpan(ctx, (s: Record<string, unknown>, r: string[]) => store.update(id, s, r), set, remove)) {
        if (ctx) {
          LOADED.set(ctx, data);
          SAVED.add(ctx);
        }
      }
    },
    async destroy(id: string, { ctx }: { ctx?: Koa.Context } = {}) {
      if (ctx && STARTED.has(ctx)) return;
      // koa-session clears the id cookie itself; its signature (and a legacy pair) go with it. Only a
      // cookie that verified is ever cleared: one signed with another instance's keys stays.
      if (ctx && cookie.read(ctx)) {
        cookie.clearSignature(ctx);
        cookie.clearLegacy(ctx);
      }
      // koa-session also "destroys" the fresh id it made up for a request without a live session; skip that store call.
      if (ctx && sessionState(ctx).record?.id !== id) return;
      await inRequestSpan(ctx, destroy, id, undefined);
    },
  };

  /**
   * The cookie is written only for a session the store holds, and only when the browser does not
   * already carry it: no cookie for a session that does not exist, no Set-Cookie on an ordinary
   * response (the idle timeout is renewed in the store). It expires with the absolute lifetime.
   */
  const externalKey = {
    get: (ctx: Koa.Context): string => verifiedId(ctx) ?? '',
    set(ctx: Koa.Context, id: string) {
      if (STARTED.has(ctx) || !SAVED.has(ctx) || verifiedId(ctx) === id) return;
      cookie.write(ctx, id);
    },
  };

  const sessionOptions = {
      key: options.cookieName,
      store: adapter,
      externalKey,
      // A login's id from the store when it places sessions by user (Redis Cluster); else random.
      genid: (ctx?: Koa.Context) => {
        const sub = ctx && CREATING.get(ctx)?.sub;
        return sub !== undefined && store.newId ? store.newId(sub) : newSessionId();
      },
      maxAge: absoluteMs,
      httpOnly: true,
      signed: false,
      secure: options.secure,
      sameSite: 'lax',
      overwrite: true,
      rolling: false,
      renew: false,
      autoCommit: true,
  } as const;
  // koa-session needs the app (it defines `ctx.session` on the app's context): one instance per app.
  const perApp = new WeakMap<Koa, Koa.Middleware>();

  async function middleware(ctx: Koa.Context, next: Koa.Next): Promise<void> {
    if (!SAFE_METHODS.has(ctx.method)) {
      let koaSession = perApp.get(ctx.app);
      if (!koaSession) {
        koaSession = createSession(sessionOptions, ctx.app);
        perApp.set(ctx.app, koaSession);
      }
      if (!options.secure) return koaSession(ctx, next);
      // koa-session clears its cookie itself (a removed session): that write, too, follows the
      // configured origin. The host's own cookies, set downstream, see the hop as it is.
      const previous = ctx.cookies.secure;
      ctx.cookies.secure = true;
      try {
        await koaSession(ctx, async () => {
          ctx.cookies.secure = previous;
          try {
            await next();
          } finally {
            ctx.cookies.secure = true;
          }
        });
      } finally {
        ctx.cookies.secure = previous;
      }
      return;
    }
    const lean: { data: Record<string, unknown> | undefined; ended: boolean } = { data: undefined, ended: false };
    LEAN.set(ctx, lean);
    const id = verifiedId(ctx);
    if (id) lean.data = await inRequestSpan(ctx, load, ctx, id);
    try {
      await next();
    } finally {
      // Also when the request failed (requireUser throws after ending a stale session), as koa-session commits.
      if (lean.ended) {
        // As koa-session's removal: the record goes (when it still exists), then both cookies.
        const record = sessionState(ctx).record;
        if (record) await inRequestSpan(ctx, destroy, record.id, undefined);
        cookie.clear(ctx);
      }
    }
  }

  async function startLogin(ctx: Koa.Context, login: NewLogin): Promise<string> {
    if (SAFE_METHODS.has(ctx.method)) throw new Error('a login is stored only by a POST (the callback)');
    const state = sessionState(ctx);
    // The browser's previous session (its own, or one planted in it) ends first. If that fails,
    // nothing is stored: the login fails closed with a 503.
    const previous = verifiedId(ctx) ?? state.cookieSessionId;
    if (previous) await store.destroy(previous);
    const t = now();
    const record: SessionRecord = {
      // From the store when it places sessions by user (Redis Cluster); else 192 random bits.
      id: store.newId ? store.newId(login.sub) : newSessionId(),
      sub: login.sub,
      sid: login.sid,
      createdAt: t,
      lastSeenAt: t,
      idleExpiresAt: Math.min(t + idleMs, t + absoluteMs),
      absoluteExpiresAt: t + absoluteMs,
      userAgent: String(ctx.get('user-agent')).slice(0, 256),
      data: login.data,
    };
    STARTED.add(ctx);
    await store.create(record, login.tokens);
    try {
      cookie.clearLegacy(ctx);
      cookie.write(ctx, record.id);
    } catch (err) {
      // An id cookie written without its signature is ignored by every instance; the record goes.
      await store.destroy(record.id).catch(() => undefined);
      throw new UnavailableError('ERR_SESSION_NOT_STARTED', 'Your session could not be started. Please try again in a moment.', { detail: `session cookie not written: ${err instanceof Error ? err.message : String(err)}`, cause: err });
    }
    const { data: _data, ...meta } = record;
    state.record = meta;
    return record.id;
  }

  return { middleware, startLogin };
}
