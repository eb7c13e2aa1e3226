/**
 * Real logins for the benchmark with the tests' HTTP driver (test/helpers/user-agent.ts): GET
 * /login, the dev-idp's login form, its form_post page, POST /callback, and the landing page.
 * Each login uses a fresh cookie jar, so the IdP never short-cuts it with an existing session.
 */
import { UserAgent } from '../test/helpers/user-agent.ts';
import { percentile } from './stats.ts';

/** Accounts of dev-idp/accounts.json used in turn. */
export const ACCOUNTS = [
  { username: 'alice', password: 'alice-password', sub: 'a1b2c3d4-alice' },
  { username: 'bob', password: 'bob-password', sub: 'e5f6a7b8-bob' },
] as const;

export interface Login {
  ms: number;
  /** The Cookie header a browser would send to /api/hello with this session. */
  cookie: string;
  agent: UserAgent;
}

/**
 * One complete login of account `n % ACCOUNTS.length`, timed from GET /login to the landing page.
 * @throws when any step does not answer as a successful login does.
 */
export async function loginOnce(appUrl: string, n: number): Promise<Login> {
  const account = ACCOUNTS[n % ACCOUNTS.length]!;
  const agent = new UserAgent(appUrl);
  const start = performance.now();
  const landing = await agent.login(account.username, account.password, '/');
  const ms = performance.now() - start;
  if (landing.statusCode !== 200) throw new Error(`login landed on ${landing.statusCode}`);
  const cookie = await agent.jar.getCookieString(agent.url('/api/hello'));
  if (!cookie) throw new Error('no session cookie after login');
  return { ms, cookie, agent };
}

/** `count` logins one after another. */
export async function sequentialLogins(appUrl: string, count: number): Promise<{ logins: Login[]; medianMs: number; p95Ms: number }> {
  const logins: Login[] = [];
  for (let i = 0; i < count; i++) logins.push(await loginOnce(appUrl, i));
  const ms = logins.map((l) => l.ms);
  return { logins, medianMs: percentile(ms, 50), p95Ms: percentile(ms, 95) };
}

/**
 * `users` concurrent users logging in again and again for `seconds` (logins in flight at the
 * deadline are finished and counted; the rate is over the whole wall time).
 */
export async function concurrentLogins(appUrl: string, users: number, seconds: number): Promise<{ logins: Login[]; perSecond: number }> {
  const logins: Login[] = [];
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let n = 0;
  await Promise.all(Array.from({ length: users }, async () => {
    while (performance.now() < deadline) logins.push(await loginOnce(appUrl, n++));
  }));
  return { logins, perSecond: logins.length / ((performance.now() - start) / 1000) };
}

/** `count` logins, `users` at a time (to create sessions quickly; not timed). */
export async function loginMany(appUrl: string, count: number, users: number): Promise<Login[]> {
  const logins: Login[] = [];
  let n = 0;
  await Promise.all(Array.from({ length: users }, async () => {
    while (n < count) logins.push(await loginOnce(appUrl, n++));
  }));
  return logins;
}
