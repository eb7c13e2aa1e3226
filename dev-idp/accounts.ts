import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/** Claims released for an account; `sub` is its stable identifier (OIDC Core 5.1). */
export interface AccountClaims {
  sub: string;
  [claim: string]: unknown;
}

/** One development account: how to sign in and what the ID token says about it. */
export interface Account {
  username: string;
  /** Plain text on purpose: this is a development tool and the login page shows it. */
  password: string;
  claims: AccountClaims;
}

/** Claims that the provider sets itself (OIDC Core 2, RFC 7519 4.1); an account may not define them. */
const RESERVED_CLAIMS = new Set([
  'iss', 'aud', 'exp', 'iat', 'nbf', 'jti', 'nonce', 'auth_time', 'acr', 'amr', 'azp',
  'at_hash', 'c_hash', 's_hash', 'sid', 'events', 'cnf', 'scope', 'client_id',
]);

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isNonEmptyString = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0;

/**
 * Checks parsed JSON against the accounts format and returns it typed.
 * Input: any value, and `source` (a file path or "options.accounts") for messages.
 * Throws one Error listing every problem found, each with its JSON path.
 */
export function validateAccounts(value: unknown, source: string): Account[] {
  const problems: string[] = [];
  if (!Array.isArray(value) || value.length === 0) {
    problems.push('must be a non-empty JSON array of {"username", "password", "claims": {"sub", ...}}');
  } else {
    const usernames = new Set<string>();
    const subs = new Set<string>();
    value.forEach((item: unknown, i) => {
      const at = `[${i}]`;
      if (!isObject(item)) return void problems.push(`${at} must be an object`);
      if (!isNonEmptyString(item.username)) problems.push(`${at}.username must be a non-empty string`);
      else if (usernames.has(item.username)) problems.push(`${at}.username "${item.username}" is a duplicate`);
      else usernames.add(item.username);
      if (!isNonEmptyString(item.password)) problems.push(`${at}.password must be a non-empty string`);
      if (!isObject(item.claims)) return void problems.push(`${at}.claims must be an object`);
      const { sub } = item.claims;
      if (!isNonEmptyString(sub) || sub.length > 255) problems.push(`${at}.claims.sub must be a string of 1-255 characters`);
      else if (subs.has(sub)) problems.push(`${at}.claims.sub "${sub}" is a duplicate`);
      else subs.add(sub);
      for (const name of Object.keys(item.claims)) {
        if (RESERVED_CLAIMS.has(name)) problems.push(`${at}.claims.${name} is set by the provider and may not be defined`);
      }
    });
  }
  if (problems.length > 0) {
    throw new Error(`dev-idp: invalid accounts in ${source}:\n  - ${problems.join('\n  - ')}`);
  }
  return value as Account[];
}

/**
 * Reads and validates an accounts JSON file.
 * Input: a path. Output: the accounts. Throws a clear Error when unreadable, not JSON or invalid.
 */
export async function loadAccountsFile(path: string): Promise<Account[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new Error(`dev-idp: cannot read accounts file ${path} (set DEV_IDP_ACCOUNTS)`, { cause });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new Error(`dev-idp: accounts file ${path} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  return validateAccounts(parsed, path);
}

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/** Lookups over a validated account list. */
export interface AccountDirectory {
  all: readonly Account[];
  /** The account if username and password match (compared in constant time), else undefined. */
  authenticate(username: string, password: string): Account | undefined;
  bySub(sub: string): Account | undefined;
  /** Every claim name used by any account, `sub` included. */
  claimNames(): string[];
}

/** Builds the lookups used by the login route and `findAccount`. Input must be validated. */
export function accountDirectory(accounts: readonly Account[]): AccountDirectory {
  const byUsername = new Map(accounts.map((a) => [a.username, a]));
  const bySub = new Map(accounts.map((a) => [a.claims.sub, a]));
  return {
    all: accounts,
    authenticate(username, password) {
      const account = byUsername.get(username);
      const expected = digest(account?.password ?? 'no such account');
      const ok = timingSafeEqual(expected, digest(password));
      return account && ok ? account : undefined;
    },
    bySub: (sub) => bySub.get(sub),
    claimNames: () => [...new Set(accounts.flatMap((a) => Object.keys(a.claims)))],
  };
}
