/**
 * Carries login transactions across the IdP round trip as cookies named after their `state`.
 *
 * SameSite=None; Secure: the form_post callback is a cross-site POST in production, and a
 * browser does not send Lax cookies with it (RFC 6265bis 5.6.7.1). Chromium accepts Secure
 * cookies on http://localhost, so this also works in development. At most {@link MAX_PENDING}
 * transactions are kept per browser, the oldest dropped first.
 */
import type Koa from 'koa';
import { parseCookie } from 'cookie';
import { isLoopback } from '../http/loopback.ts';
import { STATE_PATTERN, type LoginTransaction, type TransactionCodec } from './transaction.ts';

/** Pending logins kept per browser; repeated clicks on "Log in" never grow the Cookie header beyond this. */
export const MAX_PENDING = 3;
/** Seconds a login attempt stays valid. */
export const TRANSACTION_TTL = 600;

export interface TransactionCookieOptions {
  codec: TransactionCodec;
  baseUrl: URL;
  /** Cookie name prefix (the `state` follows), already `__Host-` prefixed for https. */
  prefix: string;
}

/** Reads, writes and clears transaction cookies for one app. */
export class TransactionCookies {
  readonly #codec: TransactionCodec;
  readonly #prefix: string;
  readonly #crossSite: boolean;
  readonly #secure: boolean;

  constructor(options: TransactionCookieOptions) {
    this.#codec = options.codec;
    const https = options.baseUrl.protocol === 'https:';
    // __Host-: host-only, Path=/, Secure; cannot be planted by a sibling subdomain (RFC 6265bis 4.1.3.2).
    this.#prefix = options.prefix;
    // A Secure cookie is only kept over https or on loopback; elsewhere fall back to Lax (same-site IdPs only).
    this.#crossSite = https || isLoopback(options.baseUrl);
    this.#secure = this.#crossSite;
  }

  /** Stores `tx`, first dropping the oldest pending ones beyond {@link MAX_PENDING} - 1. */
  async save(ctx: Koa.Context, tx: LoginTransaction): Promise<void> {
    const pending = await this.#pending(ctx);
    pending.sort((a, b) => a.iat - b.iat);
    for (const old of pending.slice(0, Math.max(0, pending.length - (MAX_PENDING - 1)))) this.#clear(ctx, old.name);
    const { state, ...payload } = tx;
    this.#set(ctx, this.#prefix + state, await this.#codec.seal(state, payload), TRANSACTION_TTL * 1000);
  }

  /**
   * The transaction for `state` sent by this browser, or undefined. Does not check its age.
   * The cookie is cleared in the response either way (a transaction is single-use).
   */
  async take(ctx: Koa.Context, state: string): Promise<LoginTransaction | undefined> {
    if (!STATE_PATTERN.test(state)) return undefined;
    const name = this.#prefix + state;
    const value = ctx.cookies.get(name, { signed: false });
    if (!value) return undefined;
    this.#clear(ctx, name);
    return this.#codec.open(state, value);
  }

  async #pending(ctx: Koa.Context): Promise<{ name: string; iat: number }[]> {
    const header = ctx.get('cookie');
    if (!header.includes(this.#prefix)) return [];
    const found: { name: string; iat: number }[] = [];
    for (const [name, value] of Object.entries(parseCookie(header))) {
      if (!name.startsWith(this.#prefix) || value === undefined) continue;
      const tx = await this.#codec.open(name.slice(this.#prefix.length), value);
      found.push({ name, iat: tx?.iat ?? 0 });
    }
    return found;
  }

  #clear(ctx: Koa.Context, name: string): void {
    this.#set(ctx, name, '', 0);
  }

  #set(ctx: Koa.Context, name: string, value: string, maxAge: number): void {
    const previous = ctx.cookies.secure;
    // Koa refuses Secure cookies on plain http unless told the connection counts as secure (loopback development).
    if (this.#secure) ctx.cookies.secure = true;
    try {
      ctx.cookies.set(name, value, {
        httpOnly: true,
        path: '/',
        sameSite: this.#crossSite ? 'none' : 'lax',
        secure: this.#secure,
        signed: false,
        overwrite: true,
        ...(maxAge > 0 ? { maxAge } : { expires: new Date(0) }),
      });
    } finally {
      ctx.cookies.secure = previous;
    }
  }
}
