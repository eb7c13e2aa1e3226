/**
 * What every failed login must look like (issue 3, "Every failure at the callback fails safely"):
 * no session, an HTML error page in plain words with a "Try again" link, status 400 (502 when the
 * IdP failed), no stack trace, exactly one `login.failed` log line with the reason code, and no
 * secret from the response in any log line. Plus a wrapper that counts the sessions any store
 * is asked to create, so "no session created" holds whatever the store.
 */
import type { ExecutionContext } from 'ava';
import { parse } from 'node-html-parser';
import { createMemoryStore } from 'koa-oidc-bff/stores/memory';
import type { SessionStore } from 'koa-oidc-bff';
import type { Res, UserAgent } from './user-agent.ts';

/**
 * `inner` (a new memory store by default; any SessionStore: memory, SQLite, Redis) that also
 * counts the sessions it was asked to create. Every other property and method is the store's own,
 * called on the store itself (so stores with private state work), and `close()` closes it.
 */
export function countingStore<S extends SessionStore = SessionStore>(inner: S = createMemoryStore() as S): S & { readonly created: number } {
  let created = 0;
  const create: SessionStore['create'] = (...args) => {
    created += 1;
    return inner.create(...args);
  };
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === 'created') return created;
      if (prop === 'create') return create;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
    has: (target, prop) => prop === 'created' || Reflect.has(target, prop),
  }) as S & { readonly created: number };
}

/** The session cookie names (plain, __Host-Http- and the former __Host-) and their signatures. */
export const SESSION_COOKIE = /^(__Host-(Http-)?)?bff\.sid(\.sig)?$/;

/** Set-Cookie headers of `res` as an array. */
export function setCookies(res: Res): string[] {
  const header = res.headers['set-cookie'];
  return header === undefined ? [] : Array.isArray(header) ? header : [header];
}

export interface FailureExpectation {
  code: string;
  status?: 400 | 502;
  /** Strings that must not appear in any log line (code, id_token, state...). */
  secrets?: string[];
  /**
   * Sessions created before this attempt (none by default): what a {@link countingStore} has
   * counted, and the live sessions of `sub` when given.
   */
  sessionsBefore?: number;
  /**
   * The `sub` of the user who tried to log in, when known: the store must still hold exactly
   * `sessionsBefore` live sessions of that user. Required when the stack's store does not count
   * (is not a {@link countingStore}), so the "no session created" check never goes missing.
   */
  sub?: string;
  /** `login.failed` lines logged before this attempt (none by default). */
  failuresBefore?: number;
}

interface StackLike {
  logs(): Record<string, unknown>[];
  logText(): string;
  store: SessionStore & { created?: number };
}

/** Asserts the full "fails safely" contract for the callback answer `res` received by `ua`. */
export async function assertLoginFailed(t: ExecutionContext, stack: StackLike, ua: UserAgent, res: Res, expected: FailureExpectation): Promise<void> {
  const status = expected.status ?? 400;
  t.is(res.statusCode, status, `status for ${expected.code}: ${res.body.slice(0, 500)}`);
  t.regex(String(res.headers['content-type']), /^text\/html/);
  const doc = parse(res.body);
  const error = doc.querySelector('[data-testid="error"]');
  t.truthy(error, 'an error page');
  t.is(error?.getAttribute('data-code'), expected.code);
  const message = error?.querySelector('p')?.text.trim() ?? '';
  t.true(message.length > 10 && !/something went wrong/i.test(message), `a plain-words message, got "${message}"`);
  const retry = error?.querySelectorAll('a').find((a) => a.text.trim() === 'Try again');
  t.truthy(retry, 'a "Try again" link');
  t.regex(retry?.getAttribute('href') ?? '', /^\/login\?returnTo=%2F/);
  // No stack trace, no library internals, no private detail.
  t.notRegex(res.body, /\n\s+at\s|\.ts:\d+|\.js:\d+|ClientError|OperationProcessingError|OAUTH_|node_modules/);
  // No session: none set, none kept, none created.
  t.false(setCookies(res).some((c) => SESSION_COOKIE.test(c.split('=')[0]!)), 'no session cookie set');
  const cookies = await ua.jar.getCookies(ua.appUrl);
  t.false(cookies.some((c) => SESSION_COOKIE.test(c.key)), 'no session cookie in the browser');
  await assertNoSessionCreated(t, stack.store, expected);
  // Exactly one log line saying why, with the reason code.
  const failures = stack.logs().filter((l) => l.event === 'login.failed').slice(expected.failuresBefore ?? 0);
  t.is(failures.length, 1, `one login.failed line, got ${JSON.stringify(failures)}`);
  t.is(failures[0]?.reason, expected.code);
  t.is(failures[0]?.requestId, res.headers['x-request-id'], 'the line carries the reference shown on the page');
  t.true(res.body.includes(String(res.headers['x-request-id'])), 'the page shows the reference');
  const elsewhere = stack.logs().filter((l) => l.event !== 'login.failed' && JSON.stringify(l).includes(expected.code));
  t.deepEqual(elsewhere, [], 'the reason code is logged in the login.failed line only');
  const logText = stack.logText();
  for (const secret of expected.secrets ?? []) if (secret) t.false(logText.includes(secret), 'no token, code or state in the log');
}

/**
 * "No session created in the store", for every store: by the count of a {@link countingStore},
 * and by the user's live sessions when `expected.sub` is given. A store that cannot count and no
 * `sub` is a failure of the test, never a silently skipped check.
 */
async function assertNoSessionCreated(t: ExecutionContext, store: StackLike['store'], expected: FailureExpectation): Promise<void> {
  const before = expected.sessionsBefore ?? 0;
  const counts = typeof store.created === 'number';
  if (counts) t.is(store.created, before, 'no session created in the store');
  if (expected.sub !== undefined) {
    const live = await store.listBySub(expected.sub, Date.now());
    t.is(live.length, before, `no session of ${expected.sub} created in the store`);
  }
  if (!counts && expected.sub === undefined) {
    t.fail(`cannot tell whether the ${store.kind} store created a session: give the stack a countingStore(store), or pass the user's \`sub\` to assertLoginFailed`);
  }
}
