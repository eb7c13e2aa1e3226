/**
 * What every failed login must look like (issue 3, "Every failure at the callback fails safely"):
 * no session, an HTML error page in plain words with a "Try again" link, status 400 (502 when the
 * IdP failed), no stack trace, exactly one `login.failed` log line with the reason code, and no
 * secret from the response in any log line. Plus a session store that counts what it creates.
 */
import type { ExecutionContext } from 'ava';
import { parse } from 'node-html-parser';
import { createMemoryStore } from 'koa-oidc-bff/stores/memory';
import type { SessionStore } from 'koa-oidc-bff';
import type { Res, UserAgent } from './user-agent.ts';

/** A real memory store that also counts the sessions it was asked to create. */
export function countingStore(): SessionStore & { created: number } {
  const store = createMemoryStore();
  const counting = Object.assign(Object.create(store) as SessionStore, {
    created: 0,
    async create(record: Parameters<SessionStore['create']>[0]) {
      counting.created += 1;
      return store.create(record);
    },
  });
  return counting;
}

/** The session cookie names (plain and __Host-) and their signatures. */
export const SESSION_COOKIE = /^(__Host-)?bff\.sid(\.sig)?$/;

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
  /** Sessions the store held before this attempt (none by default). */
  sessionsBefore?: number;
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
  if (typeof stack.store.created === 'number') t.is(stack.store.created, expected.sessionsBefore ?? 0, 'no session created in the store');
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
