/**
 * The session: the cookie carries only an opaque, signed id; the session lives on the server
 * with an idle timeout (renewed in the store, never by re-sending the cookie) and an absolute
 * lifetime.
 *
 * Two paths share the cookie format, the store and the expiry rules ({@link SessionLoader}):
 * - requests with an unsafe method (POST...: login callback, logout, forms) go through
 *   koa-session, which saves logins, regenerates ids and commits changes;
 * - safe requests (GET, HEAD, OPTIONS: every page and API read) take a lean path: verify the
 *   cookie, one store read, no commit and no change detection. They never write the session;
 *   ending it (a stale cookie, a grant gone) destroys the record and clears the cookie exactly
 *   as koa-session's removal does.
 */
import { randomBytes } from 'node:crypto';
import type Koa from 'koa';
import createSession from 'koa-session';
import type { CookieSigner } from './cookie-signature.ts';
import { StoreUnavailableError } from './store-errors.ts';
import type { SessionRecord, SessionStore, TokenRecord } from './store.ts';

export interface SessionMiddlewareOptions {
  store: SessionStore;
  /** Cookie name, e.g. `bff.sid` or `__Host-bff.sid`; its signature goes in `<cookieName>.sig`. */
  cookieName: string;
  /** Signs and verifies the session cookie (the package's own keys, never `app.keys`). */
  signer: CookieSigner;
  /** Cookie `Secure` attribute (true for an https base URL). */
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

/**
 * Builds the session middleware: koa-session, set up for each Koa app on its first request (it
 * extends that app's context), with the cookie signed by `options.signer`. `app.keys` is neither
 * read nor written.
 * @returns the middleware; it reads the store once per request that carries a session cookie.
 */
export function sessionMiddleware(options: SessionMiddlewareOptions): Koa.Middleware {
  const now = options.now ?? Date.now;
  const idleMs = options.idleTimeout * 1000;
  const absoluteMs = options.absoluteTimeout * 1000;
  // Write lastSeenAt at most this often: idle-timeout precision traded for one store write per minute, not per request.
  const touchEveryMs = Math.min(60_000, Math.max(1000, idleMs / 10));
  const { store } = options;

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
      await store.touch(id, record.lastSeenAt, record.idleExpiresAt).catch(() => undefined);
    }
    const { data, ...meta } = record;
    state.record = meta;
    return data;
  }

  const adapter = {
    async get(id: string, _maxAge: number, { ctx }: { ctx?: Koa.Context }) {
      if (!ctx) return undefined;
      const data = await load(ctx, id);
      if (data) LOADED.set(ctx, data);
      return data;
    },
    async set(id: string, sess: Record<string, unknown>, _maxAge: number, { ctx }: { ctx?: Koa.Context }) {
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
        await store.create(record, tokens);
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
      if (await store.update(id, set, remove)) {
        if (ctx) {
          LOADED.set(ctx, data);
          SAVED.add(ctx);
        }
      }
    },
    async destroy(id: string, { ctx }: { ctx?: Koa.Context } = {}) {
      // koa-session clears the id cookie itself; its signature goes with it.
      if (ctx && ctx.cookies.get(sigName)) ctx.cookies.set(sigName, '', cookieOptions);
      // koa-session also "destroys" the fresh id it made up for a request without a live session; skip that store call.
      if (ctx && sessionState(ctx).record?.id !== id) return;
      await store.destroy(id);
    },
  };

  const sigName = `${options.cookieName}.sig`;
  const { signer } = options;
  const cookieOptions = { httpOnly: true, signed: false, secure: options.secure, sameSite: 'lax' as const, path: '/', overwrite: true, maxAge: absoluteMs };
  /**
   * The cookie is written only for a session the store holds, and only when the browser does not
   * already carry it: no cookie for a session that does not exist, no Set-Cookie on an ordinary
   * response (the idle timeout is renewed in the store). It expires with the absolute lifetime.
   */
  const externalKey = {
    get: (ctx: Koa.Context): string => verifiedId(ctx) ?? '',
    set(ctx: Koa.Context, id: string) {
      if (!SAVED.has(ctx) || verifiedId(ctx) === id) return;
      ctx.cookies.set(options.cookieName, id, cookieOptions);
      ctx.cookies.set(sigName, signer.sign(options.cookieName, id), cookieOptions);
    },
  };

  /** The id of a validly signed session cookie; re-signs one signed with an older key (rotation). */
  function verifiedId(ctx: Koa.Context): string | undefined {
    const id = ctx.cookies.get(options.cookieName, { signed: false });
    if (!id) return undefined;
    const index = signer.verify(options.cookieName, id, ctx.cookies.get(sigName, { signed: false }) ?? '');
    if (index < 0) return undefined;
    if (index > 0) ctx.cookies.set(sigName, signer.sign(options.cookieName, id), cookieOptions);
    return id;
  }

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
      rolling: false,
      renew: false,
      autoCommit: true,
  } as const;
  // koa-session needs the app (it defines `ctx.session` on the app's context): one instance per app.
  const perApp = new WeakMap<Koa, Koa.Middleware>();
  return async function session(ctx, next) {
    if (!SAFE_METHODS.has(ctx.method)) {
      let middleware = perApp.get(ctx.app);
      if (!middleware) {
        middleware = createSession(sessionOptions, ctx.app);
        perApp.set(ctx.app, middleware);
      }
      return middleware(ctx, next);
    }
    const lean: { data: Record<string, unknown> | undefined; ended: boolean } = { data: undefined, ended: false };
    LEAN.set(ctx, lean);
    const id = verifiedId(ctx);
    if (id) lean.data = await load(ctx, id);
    try {
      await next();
    } finally {
      // Also when the request failed (requireUser throws after ending a stale session), as koa-session commits.
      if (lean.ended) {
        // As koa-session's removal: the record goes (when it still exists), then both cookies.
        const record = sessionState(ctx).record;
        if (record) await store.destroy(record.id);
        ctx.cookies.set(options.cookieName, '', cookieOptions);
        ctx.cookies.set(sigName, '', cookieOptions);
      }
    }
  };
}
