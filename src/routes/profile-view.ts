/**
 * The profile page's view of the ID token claims: who the user is (name, email, picture) on top,
 * the user's claims as readable values (times as dates, arrays as lists, objects as nested lists),
 * and the protocol claims apart, for a collapsed "Token details". Plain data: the template escapes.
 */

/** Claims about the token rather than the user (OIDC Core 2, 3.1.3.6), shown under "Token details". */
const PROTOCOL_CLAIMS = ['iss', 'aud', 'azp', 'nonce', 'sid', 'at_hash', 'c_hash', 's_hash', 'auth_time', 'acr', 'amr', 'iat', 'exp', 'nbf', 'jti'];
/** NumericDate claims (seconds since the epoch, RFC 7519 2), shown as dates. */
const TIME_CLAIMS = new Set(['exp', 'iat', 'nbf', 'auth_time', 'updated_at']);
/** Nesting shown before a value is summarised as JSON. */
const MAX_DEPTH = 4;

/** One value: text, a date (ISO and raw seconds), a list or a set of named values. */
export type ClaimValue =
  | { kind: 'text'; text: string }
  | { kind: 'time'; iso: string; text: string; raw: string }
  | { kind: 'list'; items: ClaimValue[] }
  | { kind: 'object'; entries: Claim[] };

export interface Claim {
  name: string;
  value: ClaimValue;
}

export interface ProfileView {
  name: string | undefined;
  email: string | undefined;
  /** Shown as an image only when the CSP allows it (a `data:image/` URL); else offered as a link when https. */
  picture: { src: string } | { href: string } | undefined;
  initial: string;
  claims: Claim[];
  protocol: Claim[];
}

/** Builds the profile view of `claims` (the ID token's claims, untrusted strings). */
export function profileView(claims: Record<string, unknown>): ProfileView {
  const name = typeof claims.name === 'string' ? claims.name : undefined;
  const email = typeof claims.email === 'string' ? claims.email : undefined;
  const protocolNames = new Set(PROTOCOL_CLAIMS);
  const entries = Object.entries(claims);
  return {
    name,
    email,
    picture: pictureOf(claims.picture),
    initial: (Array.from(name ?? email ?? String(claims.sub ?? '?'))[0] ?? '?').toUpperCase(),
    claims: entries.filter(([k]) => !protocolNames.has(k)).map(([k, v]) => ({ name: k, value: valueOf(k, v, 0) })),
    protocol: PROTOCOL_CLAIMS.filter((k) => k in claims).map((k) => ({ name: k, value: valueOf(k, claims[k], 0) })),
  };
}

function valueOf(name: string, value: unknown, depth: number): ClaimValue {
  if (TIME_CLAIMS.has(name) && typeof value === 'number' && Number.isFinite(value)) {
    const date = new Date(value * 1000);
    if (!Number.isNaN(date.getTime())) {
      return { kind: 'time', iso: date.toISOString(), text: `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`, raw: String(value) };
    }
  }
  if (value === null || value === undefined) return { kind: 'text', text: String(value) };
  if (typeof value !== 'object') return { kind: 'text', text: String(value) };
  if (depth >= MAX_DEPTH) return { kind: 'text', text: JSON.stringify(value) };
  if (Array.isArray(value)) return { kind: 'list', items: value.map((v) => valueOf('', v, depth + 1)) };
  return { kind: 'object', entries: Object.entries(value).map(([k, v]) => ({ name: k, value: valueOf(k, v, depth + 1) })) };
}

function pictureOf(value: unknown): ProfileView['picture'] {
  if (typeof value !== 'string') return undefined;
  // The CSP allows images from this origin and data: only; a remote picture is a link instead.
  if (/^data:image\/(png|jpeg|gif|webp);base64,[a-z0-9+/=]+$/i.test(value)) return { src: value };
  const url = URL.parse(value);
  return url && url.protocol === 'https:' ? { href: url.href } : undefined;
}
