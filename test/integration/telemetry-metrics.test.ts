/**
 * Metrics of the whole login and session lifecycle, as a Prometheus server sees them: the demo's
 * own OpenTelemetry wiring (src/telemetry.ts) serves /metrics on its own port; a scripted run over
 * real HTTP (real dev-idp, real cookie jars) drives every event once or twice; the test asserts the
 * exact counter deltas, that the histograms observed, that the exposition passes
 * `promtool check metrics` and a text-format parser, and that no secret of the run is in it.
 */
import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { refreshLockKey } from '../../packages/koa-oidc-bff/src/tokens/refresh.ts';
import { histogramCount, labelSets, promtoolCheck, scrape, value, type Scrape } from '../helpers/metrics.ts';
import { startStack, type Stack } from '../helpers/stack.ts';
import { logoutAtIdp, revokeGrant, sessionId } from '../helpers/tokens.ts';
import { startDemoTelemetry } from '../helpers/telemetry.ts';
import { bffMetricProducer, StoreUnavailableError, type SessionStore } from 'koa-oidc-bff';
import { createMemoryStore } from 'koa-oidc-bff/stores/memory';
import { readForm, UserAgent } from '../helpers/user-agent.ts';
import type { RunningTelemetry } from '../../src/telemetry.ts';

// Every access token counts as expiring (skew beyond its 10-minute life): each remote API call refreshes.
const REFRESH_EVERY_CALL = { api: true, ttl: { AccessToken: 600 }, env: { TOKEN_REFRESH_SKEW: '3600' } } as const;

let telemetry: RunningTelemetry;
let code: Stack;
let idToken: Stack;
let before: Scrape;
/** A memory store whose next listBySub fails when asked to, as a store outage would. */
const inner = createMemoryStore();
let failNextList = false;
const flakyStore: SessionStore = {
  ...inner,
  async listBySub(sub, now) {
    if (failNextList) {
      failNextList = false;
      throw new StoreUnavailableError('memory', new Error('simulated outage'));
    }
    return inner.listBySub(sub, now);
  },
};
let after: Scrape;
/** Every secret value the run saw: tokens, cookies, codes, states, session ids, emails. */
const secrets = new Set<string>();

test.before(async () => {
  // Before the stacks: the package reads the global providers when each BFF is created.
  telemetry = await startDemoTelemetry(undefined, { metrics: true });
  code = await startStack(REFRESH_EVERY_CALL);
  idToken = await startStack({ env: { RESPONSE_TYPE: 'id_token' }, store: flakyStore });
  before = await scrape(telemetry.metricsUrl!);
  await scriptedRun();
  after = await scrape(telemetry.metricsUrl!);
});

test.after.always(async () => {
  await code?.close();
  await idToken?.close();
  await inner.close();
  await telemetry?.shutdown();
});

async function remember(ua: UserAgent, stack: Stack): Promise<void> {
  for (const cookie of await ua.jar.getCookies(stack.appUrl)) if (cookie.value.length >= 8) secrets.add(cookie.value);
  const id = await ua.cookie('bff.sid');
  if (!id) return;
  secrets.add(id);
  for (const v of Object.values((await stack.store.getTokens(id, Date.now())) ?? {})) if (typeof v === 'string' && v.length >= 8) secrets.add(v);
  const claims = (await stack.store.getTokens(id, Date.now()))?.claims as Record<string, unknown> | undefined;
  if (typeof claims?.email === 'string') secrets.add(claims.email);
}

/** A login that also records the callback's code, state and id_token. */
async function login(stack: Stack, username: string): Promise<UserAgent> {
  const ua = new UserAgent(stack.appUrl);
  const form = await ua.loginUntilCallback(username, `${username}-password`);
  for (const v of Object.values(form.fields)) if (v.length >= 8) secrets.add(v);
  const callback = await ua.postCallback(form);
  if (callback.statusCode !== 303) throw new Error(`callback answered ${callback.statusCode}`);
  await remember(ua, stack);
  return ua;
}

async function scriptedRun(): Promise<void> {
  // A successful login in each flow.
  const alice = await login(code, 'alice');
  const carol = await login(idToken, 'alice');
  // API calls, and a refresh on a remote call.
  for (let i = 0; i < 2; i++) if ((await alice.hx('/api/hello', '/')).statusCode !== 200) throw new Error('api call failed');
  if ((await alice.hx('/api/remote/hello', '/')).statusCode !== 200) throw new Error('remote call failed');
  // A coalesced refresh: while "another instance" holds the refresh lock, two calls ask; the
  // second joins the first's refresh (its event is logged as it joins), then the lock is released.
  const release = (await code.store.tryLock(refreshLockKey(await sessionId(alice)), 10_000))!;
  const joined = () => code.logs().some((l) => l.event === 'token.refresh_coalesced');
  const calls = [alice.hx('/api/remote/hello', '/'), alice.hx('/api/remote/hello', '/')];
  for (let i = 0; !joined() && i < 200; i++) await sleep(25);
  await release();
  for (const r of await Promise.all(calls)) if (r.statusCode !== 200) throw new Error(`coalesced call answered ${r.statusCode}`);
  await remember(alice, code);
  // A failed login of a known reason: a callback whose state this browser never started.
  const stranger = new UserAgent(code.appUrl);
  await stranger.postCallback({ action: `${code.appUrl}/callback`, fields: { state: 'an-unknown-state-value', code: 'an-unknown-code-value' } });
  // CSRF rejections: an API call without the header, a logout form from another site.
  await alice.http.get(alice.url('/api/hello'));
  await stranger.http.post(stranger.url('/logout'), { form: {}, headers: { origin: 'https://evil.example' } });
  // A user-ended session: a second session of alice, ended from the first's sessions page; its next call finds it gone.
  const second = await login(code, 'alice');
  const page = await alice.navigate('/sessions');
  const endOthers = readForm(page.body, 'form[action="/sessions/end-others"]');
  await alice.submit(alice.url('/sessions/end-others'), endOthers.fields);
  await second.hx('/api/hello', '/');
  // An RP-initiated logout.
  await alice.logout();
  // A back-channel logout (the user logs out at the IdP), then the ended session's next call.
  const bob = await login(code, 'bob');
  await logoutAtIdp(code, bob);
  await bob.hx('/api/hello', '/');
  // A refresh whose grant is gone: the IdP's token endpoint refuses it (an IdP 4xx).
  const revoked = await login(code, 'alice');
  await revokeGrant(code, revoked);
  if ((await revoked.hx('/api/remote/hello', '/')).statusCode !== 401) throw new Error('a gone grant should end the session');
  // A session store failure: the sessions page cannot list (503).
  failNextList = true;
  if ((await carol.navigate('/sessions')).statusCode !== 503) throw new Error('a store failure should answer 503');
}

const delta = (name: string, labels: Record<string, string> = {}) => value(after, name, labels) - value(before, name, labels);

test('logins: started, completed by outcome and reason; callback durations observed', (t) => {
  t.is(delta('bff_logins_started_total'), 5);
  t.is(delta('bff_logins_completed_total', { outcome: 'success' }), 5);
  t.is(delta('bff_logins_completed_total', { outcome: 'failure', reason: 'ERR_LOGIN_STATE_UNKNOWN' }), 1);
  t.is(delta('bff_logins_completed_total', { outcome: 'failure' }), 1, 'no other failure');
  t.is(histogramCount(after, 'bff_callback_duration_seconds', { outcome: 'success' }), 5);
  t.is(histogramCount(after, 'bff_callback_duration_seconds', { outcome: 'failure' }), 1);
});

test('token refreshes by outcome, with durations', (t) => {
  t.is(delta('bff_token_refreshes_total', { outcome: 'refreshed' }), 2);
  t.is(delta('bff_token_refreshes_total', { outcome: 'coalesced' }), 1);
  t.is(delta('bff_token_refreshes_total', { outcome: 'grant_gone' }), 1);
  t.is(delta('bff_token_refreshes_total', { outcome: 'unavailable' }), 0);
  t.is(histogramCount(after, 'bff_token_refresh_duration_seconds', { outcome: 'refreshed' }), 2);
  t.is(histogramCount(after, 'bff_token_refresh_duration_seconds', { outcome: 'grant_gone' }), 1);
});

test('logouts by kind, and CSRF rejections by check', (t) => {
  t.is(delta('bff_logouts_total', { kind: 'rp_initiated' }), 1);
  t.is(delta('bff_logouts_total', { kind: 'backchannel' }), 1);
  t.is(delta('bff_logouts_total', { kind: 'ended_by_user' }), 1);
  t.is(delta('bff_logouts_total', { kind: 'expired' }), 2);
  t.is(delta('bff_csrf_rejections_total', { check: 'api_header' }), 1);
  t.is(delta('bff_csrf_rejections_total', { check: 'origin' }), 1);
  t.is(delta('bff_csrf_rejections_total'), 2);
});

test('IdP, store, upstream and HTTP server histograms observed, labelled by closed sets', (t) => {
  for (const endpoint of ['discovery', 'jwks', 'token', 'revocation']) t.true(histogramCount(after, 'bff_idp_request_duration_seconds', { endpoint }) > 0, endpoint);
  t.is(delta('bff_idp_errors_total', { endpoint: 'token', kind: 'http_4xx' }), 1, 'the refused refresh');
  t.is(delta('bff_idp_errors_total'), 1);
  t.is(delta('bff_session_store_errors_total', { op: 'listBySub' }), 1);
  t.is(delta('bff_session_store_errors_total'), 1);
  for (const op of ['get', 'create', 'getTokens', 'setTokens', 'destroy', 'claimOnce', 'tryLock', 'destroyBySub', 'destroyBySid']) t.true(histogramCount(after, 'bff_session_store_duration_seconds', { op }) > 0, op);
  t.is(histogramCount(after, 'bff_upstream_request_duration_seconds', { status_class: '2xx' }), 3);
  t.true(histogramCount(after, 'http_server_request_duration_seconds', { http_request_method: 'GET', http_route: '/api/hello', http_response_status_code: '200' }) >= 2);
  t.true(histogramCount(after, 'http_server_request_duration_seconds', { http_request_method: 'POST', http_route: '/callback', http_response_status_code: '303' }) >= 4);
  // Routes are templates, never raw paths.
  const routes = labelSets(after, 'http_server_request_duration_seconds').map((l) => l.http_route).filter(Boolean);
  t.true(routes.includes('/sessions/end-others'));
  t.false(routes.some((r) => r!.includes('?')));
  t.true(value(after, 'bff_sessions_active', { store: 'memory' }) >= 0);
  t.truthy(after.families.find((f) => f.name === 'bff_sessions_active' && f.type === 'GAUGE'));
});

test('the per-request histograms come from the package\'s metric producer, which the demo gives its reader', async (t) => {
  // Without the demo's registration this is a fresh producer with no histogram at all.
  const { resourceMetrics } = await bffMetricProducer().collect();
  const produced = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
  t.deepEqual(produced.map((m) => m.descriptor.name).sort(), ['bff_session_store_duration_seconds', 'http_server_request_duration_seconds']);
  const hello = produced.find((m) => m.descriptor.name === 'http_server_request_duration_seconds')!.dataPoints
    .filter((p) => p.attributes['http.route'] === '/api/hello' && p.attributes['http.response.status_code'] === 200 && p.attributes['http.request.method'] === 'GET')
    .reduce((n, p) => n + p.value.count, 0);
  // At least what the scrape after the run saw (the producer's totals only grow).
  t.true(hello >= histogramCount(after, 'http_server_request_duration_seconds', { http_request_method: 'GET', http_route: '/api/hello', http_response_status_code: '200' }));
  t.true(hello >= 2);
});

test('the exposition passes promtool check metrics and parses', async (t) => {
  const { code: exit, output } = await promtoolCheck(after.text);
  t.is(exit, 0, output);
  t.true(after.families.length >= 12);
});

test('no token, cookie value, code, state, session id or email in the metrics', (t) => {
  t.true(secrets.size >= 10, `collected ${secrets.size} secrets`);
  for (const secret of secrets) t.false(after.text.includes(secret), `a secret of ${secret.length} characters is in the metrics`);
});

test('the Grafana dashboard and the alert rules use only metrics the app exposes; promtool accepts the rules', async (t) => {
  const { readFileSync } = await import('node:fs');
  const { spawnSync } = await import('node:child_process');
  const root = new URL('../../docs/observability/', import.meta.url);
  const dashboard = JSON.parse(readFileSync(new URL('grafana-dashboard.json', root), 'utf8')) as { panels: { targets?: { expr: string }[] }[] };
  const exprs = dashboard.panels.flatMap((p) => p.targets ?? []).map((target) => target.expr);
  const rules = readFileSync(new URL('alerts.yml', root), 'utf8');
  t.true(exprs.length >= 15);
  const exposed = new Set(after.families.map((f) => f.name));
  const used = new Set([...exprs, rules].flatMap((e) => [...e.matchAll(/\b((?:bff|http_server)_[a-z_]+?)(?:_bucket|_count|_sum)?\b/g)].map((m) => m[1]!)));
  for (const name of used) t.true(exposed.has(name), `${name} is not exposed`);
  const check = spawnSync('promtool', ['check', 'rules', new URL('alerts.yml', root).pathname], { encoding: 'utf8' });
  t.is(check.status, 0, check.stdout + check.stderr);
});
