/**
 * The session cookie on the wire: `<name>=<id>` and its signature `<name>.sig` (cookie-signature.ts),
 * read and verified once per request, written with the login's attributes (HttpOnly, SameSite=Lax,
 * Path=/, Secure for an https origin), expiring with the session's absolute lifetime.
 *
 * - Secure follows the configured origin, not the hop: Koa refuses a Secure cookie on a request it
 *   does not see as https (no `app.proxy`, a hop without X-Forwarded-Proto) unless told that the
 *   connection counts as secure, which each write here does for itself only.
 * - A signature from an older key is renewed, and a cookie under the legacy name (`__Host-bff.sid`
 *   before `__Host-Http-`) moved to the current one, with the same attributes, once the session is
 *   known to be live ({@link SessionCookie.refresh}).
 * - A cookie whose signature no key verifies is absent for the request, reported once
 *   (`session.bad_signature`, its name only) and never deleted: during a rolling deploy the
 *   instances that know the key keep the user.
 */
import type Koa from 'koa';
import type { BffLogger } from '../log.ts';
import type { CookieSigner } from './cookie-signature.ts';

/** What the session cookie of a request said. */
export interface CookieRead {
  /** The session id. */
  id: string;
  /** Signed with an older key: re-signed once the session is known to be live. */
  resign: boolean;
  /** Found under the legacy name: reissued under the current one and the old cookies cleared. */
  legacy: boolean;
}

export interface SessionCookieOptions {
  /** Cookie name; its signature goes in `<name>.sig`. */
  name: string;
  /** A former name, read only when the browser has no cookie under `name`. */
  legacyName?: string | undefined;
  signer: CookieSigner;
  /** Secure attribute (an https origin). */
  secure: boolean;
  /** Milliseconds: the lifetime of a cookie written at login (the session's absolute lifetime). */
  maxAgeMs: number;
  logger?: BffLogger | undefined;
  /** Clock in ms. */
  now: () => number;
}

/** Cookies reported as badly signed, remembered so a browser sending one is logged once, not per request. */
const BAD_SIGNATURE_MEMORY = 1000;

/** Reads, writes, renews and clears the session cookie of one app. */
export class SessionCookie {
  readonly name: string;
  readonly #o: SessionCookieOptions;
  readonly #sigName: string;
  readonly #legacySigName: string | undefined;
  readonly #attributes: { httpOnly: true; signed: false; secure: boolean; sameSite: 'lax'; path: '/'; overwrite: true; maxAge: number };
  /** Per request: the verified cookie (null: none, or not verified). */
  readonly #read = new WeakMap<Koa.Context, CookieRead | null>();
  readonly #reportedBad = new Set<string>();

  constructor(options: SessionCookieOptions) {
    this.#o = options;
    this.name = options.name;
    this.#sigName = `${options.name}.sig`;
    this.#legacySigName = options.legacyName && `${options.legacyName}.sig`;
    this.#attributes = { httpOnly: true, signed: false, secure: options.secure, sameSite: 'lax', path: '/', overwrite: true, maxAge: options.maxAgeMs };
  }

  /** The request's validly signed session cookie (the current name, else the legacy one), read once per request. */
  read(ctx: Koa.Context): CookieRead | undefined {
    const known = this.#read.get(ctx);
    if (known !== undefined) return known ?? undefined;
    const { legacyName } = this.#o;
    const read = this.#verify(ctx, this.name, this.#sigName, false)
      ?? (legacyName && this.#legacySigName && !ctx.cookies.get(this.name, { signed: false }) ? this.#verify(ctx, legacyName, this.#legacySigName, true) : undefined);
    this.#read.set(ctx, read ?? null);
    return read;
  }

  /** What {@link read} found earlier in this request, without reading the cookie again. */
  readEarlier(ctx: Koa.Context): CookieRead | undefined {
    return this.#read.get(ctx) ?? undefined;
  }

  /** Writes the cookie and its signature for session `id`, expiring in `maxAgeMs` (default: a whole session). */
  write(ctx: Koa.Context, id: string, maxAgeMs?: number): void {
    this.#set(ctx, this.name, id, maxAgeMs);
    this.#set(ctx, this.#sigName, this.#o.signer.sign(this.name, id), maxAgeMs);
  }

  /**
   * Once the session `read` names is known to be live (its absolute end `absoluteExpiresAt`, ms):
   * renews an older key's signature, or moves a legacy-name cookie to the current name, with the
   * login's attributes and the expiry of the session.
   */
  refresh(ctx: Koa.Context, read: CookieRead, absoluteExpiresAt: number): void {
    if (!read.resign && !read.legacy) return;
    const maxAge = Math.max(1000, absoluteExpiresAt - this.#o.now());
    if (read.legacy) {
      this.write(ctx, read.id, maxAge);
      this.clearLegacy(ctx);
    } else {
      this.#set(ctx, this.#sigName, this.#o.signer.sign(this.name, read.id), maxAge);
    }
  }

  /** Clears the cookie and its signature (as koa-session's removal does), and legacy ones the browser sent. */
  clear(ctx: Koa.Context): void {
    this.#set(ctx, this.name, '');
    this.clearSignature(ctx);
    this.clearLegacy(ctx);
  }

  /** Clears the signature cookie (koa-session clears the id cookie itself). */
  clearSignature(ctx: Koa.Context): void {
    this.#set(ctx, this.#sigName, '');
  }

  /** Clears the legacy-name cookies the browser sent, if any. */
  clearLegacy(ctx: Koa.Context): void {
    const { legacyName } = this.#o;
    if (!legacyName || !this.#legacySigName) return;
    if (ctx.cookies.get(legacyName, { signed: false }) !== undefined) this.#set(ctx, legacyName, '');
    if (ctx.cookies.get(this.#legacySigName, { signed: false }) !== undefined) this.#set(ctx, this.#legacySigName, '');
  }

  #verify(ctx: Koa.Context, name: string, signatureName: string, legacy: boolean): CookieRead | undefined {
    const id = ctx.cookies.get(name, { signed: false });
    if (!id) return undefined;
    const signature = ctx.cookies.get(signatureName, { signed: false }) ?? '';
    const index = this.#o.signer.verify(name, id, signature);
    if (index >= 0) return { id, resign: index > 0, legacy };
    const key = `${id}\u0000${signature}`;
    if (!this.#reportedBad.has(key)) {
      if (this.#reportedBad.size >= BAD_SIGNATURE_MEMORY) this.#reportedBad.clear();
      this.#reportedBad.add(key);
      this.#o.logger?.warn({ event: 'session.bad_signature', cookie: name }, 'a session cookie whose signature no configured key verifies was ignored');
    }
    return undefined;
  }

  #set(ctx: Koa.Context, name: string, value: string, maxAge?: number): void {
    const previous = ctx.cookies.secure;
    if (this.#o.secure) ctx.cookies.secure = true;
    try {
      ctx.cookies.set(name, value, maxAge === undefined ? this.#attributes : { ...this.#attributes, maxAge });
    } finally {
      ctx.cookies.secure = previous;
    }
  }
}
