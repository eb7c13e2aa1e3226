/**
 * Traces as an OpenTelemetry collector receives them: the demo's SDK wiring exports over OTLP/HTTP
 * (JSON encoding) to an in-test receiver. A login gives a server span per request, named by route
 * template, with the IdP and store calls as its children; `callApi`'s span reaches the upstream
 * as `traceparent`; the request log line carries the span's ids; no secret is in any span.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, trace, type ContextManager } from '@opentelemetry/api';
import test from 'ava';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.ts';
import { startStack, type Stack } from '../helpers/stack.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { startDemoTelemetry } from '../helpers/telemetry.ts';
import type { RunningTelemetry } from '../../src/telemetry.ts';

const SERVER = 2;
const CLIENT = 3;

let receiver: OtlpReceiver;
let telemetry: RunningTelemetry;
let stack: Stack;
let upstream: http.Server;
const upstreamHeaders: http.IncomingHttpHeaders[] = [];
/** Called by the upstream while it answers (the request that called it is still in flight). */
let onUpstream: (() => void) | undefined;
const secrets = new Set<string>();

test.before(async () => {
  receiver = await startOtlpReceiver();
  // The standard variables, read by the SDK's exporters and sampler themselves.
  // New traces are all sampled; an incoming traceparent's decision is followed.
  telemetry = await startDemoTelemetry(receiver, { env: { OTEL_TRACES_SAMPLER: 'parentbased_always_on', OTEL_BSP_SCHEDULE_DELAY: '50' } });
  upstream = http.createServer((req, res) => {
    upstreamHeaders.push(req.headers);
    onUpstream?.();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'hello from upstream' }));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  stack = await startStack({ env: { REMOTE_API_URL: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` } });
});

test.after.always(async () => {
  await stack?.close();
  upstream?.closeAllConnections();
  upstream?.close();
  await telemetry?.shutdown();
  await receiver?.close();
});

const children = (parent: ReceivedSpan) => receiver.spans.filter((s) => s.parentSpanId === parent.spanId);
const serverSpan = (name: string) => receiver.spans.filter((s) => s.kind === SERVER && s.name === name);

test.serial('a login: server spans by route template; IdP and store calls are children of the callback span', async (t) => {
  const ua = new UserAgent(stack.appUrl);
  const form = await ua.loginUntilCallback('alice', 'alice-password');
  for (const v of Object.values(form.fields)) if (v.length >= 8) secrets.add(v);
  const callback = await ua.postCallback(form);
  t.is(callback.statusCode, 303);
  t.is((await ua.navigate(callback.headers.location!)).statusCode, 200);
  const id = (await ua.cookie('bff.sid'))!;
  secrets.add(id);
  const tokens = (await stack.store.getTokens(id, Date.now()))!;
  for (const v of Object.values(tokens)) if (typeof v === 'string' && v.length >= 8) secrets.add(v);
  secrets.add(String((tokens.claims as Record<string, unknown>).email));
  await telemetry.flush();

  t.is(serverSpan('GET /login').length, 1);
  const [cb] = serverSpan('POST /callback');
  t.truthy(cb, `server spans: ${receiver.spans.filter((s) => s.kind === SERVER).map((s) => s.name).join(', ')}`);
  t.is(cb!.parentSpanId, undefined, 'a root span (no traceparent came in)');
  t.is(cb!.attributes['http.route'], '/callback');
  t.is(cb!.attributes['http.response.status_code'], 303);
  const kids = children(cb!);
  t.true(kids.every((k) => k.traceId === cb!.traceId && k.kind === CLIENT));
  const names = kids.map((k) => k.name);
  t.true(names.includes('IdP token'), names.join(', '));
  t.true(names.includes('session_store claimOnce'), names.join(', '));
  t.true(names.includes('session_store create'), names.join(', '));
  t.is(kids.find((k) => k.name === 'IdP token')!.attributes['bff.idp.endpoint'], 'token');
  // The page after the login: its session read is a child of its own server span.
  const [home] = serverSpan('GET /');
  t.truthy(home);
  t.true(children(home!).some((k) => k.name === 'session_store get'));
  // The request log line of the callback carries the span's ids.
  const line = stack.logs().find((l) => l.msg === 'request' && l.path === '/callback');
  t.is(line?.trace_id, cb!.traceId);
  t.is(line?.span_id, cb!.spanId);
});

test.serial('callApi: a client span under the request span, sent upstream as traceparent; an incoming traceparent is the parent', async (t) => {
  const ua = new UserAgent(stack.appUrl);
  await ua.login();
  secrets.add((await ua.cookie('bff.sid'))!);
  const parentTrace = '0af7651916cd43dd8448eb211c80319c';
  const parentSpan = 'b7ad6b7169203331';
  const answer = await ua.hx('/api/remote/hello', '/', { traceparent: `00-${parentTrace}-${parentSpan}-01` });
  t.is(answer.statusCode, 200);
  await telemetry.flush();

  const [api] = serverSpan('GET /api/remote/hello');
  t.truthy(api);
  t.is(api!.traceId, parentTrace, 'the incoming trace continues');
  t.is(api!.parentSpanId, parentSpan);
  const call = children(api!).find((k) => k.name === 'GET upstream');
  t.truthy(call);
  const sent = upstreamHeaders.at(-1)!;
  t.is(sent.traceparent, `00-${parentTrace}-${call!.spanId}-01`, 'the upstream sees the callApi span as its parent');
  t.is(sent.cookie, undefined);

  // An unsampled incoming trace: no span is recorded, but the decision still travels upstream.
  const unsampledTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
  t.is((await ua.hx('/api/remote/hello', '/', { traceparent: `00-${unsampledTrace}-00f067aa0ba902b7-00` })).statusCode, 200);
  await telemetry.flush();
  t.false(receiver.spans.some((s) => s.traceId === unsampledTrace), 'nothing of an unsampled trace is exported');
  t.regex(String(upstreamHeaders.at(-1)!.traceparent), new RegExp(`^00-${unsampledTrace}-[0-9a-f]{16}-00$`));
});

/** A logged-in user agent; its session cookie joins the secrets no span may carry. */
async function loggedIn(): Promise<UserAgent> {
  const ua = new UserAgent(stack.appUrl);
  await ua.login();
  secrets.add((await ua.cookie('bff.sid'))!);
  return ua;
}

/** The context manager registered globally (the demo's), to watch its `with`. */
const globalContextManager = () => (context as unknown as { _getContextManager(): ContextManager })._getContextManager();

test.serial('a sampled request holds no trace context for its whole length: none is entered while its callApi waits for the upstream', async (t) => {
  const ua = await loggedIn();
  // Count the contexts entered and not yet left through the global context manager (the demo's).
  const manager = globalContextManager();
  const original = manager.with;
  let entered = 0;
  manager.with = function countedWith(this: ContextManager, ...args: Parameters<ContextManager['with']>) {
    entered++;
    let result: unknown;
    try {
      result = original.apply(this, args);
    } catch (err) {
      entered--;
      throw err;
    }
    if (result instanceof Promise) return result.finally(() => entered--);
    entered--;
    return result;
  } as ContextManager['with'];
  const seen: number[] = [];
  onUpstream = () => seen.push(entered);
  try {
    t.is((await ua.hx('/api/remote/hello', '/')).statusCode, 200);
  } finally {
    manager.with = original;
    onUpstream = undefined;
  }
  await telemetry.flush();
  const [api] = serverSpan('GET /api/remote/hello').slice(-1);
  t.truthy(children(api!).find((k) => k.name === 'GET upstream'), 'the request was sampled and its callApi span is its child');
  t.deepEqual(seen, [0], 'no context entered while the request waited for the upstream');
});

test.serial('a sampled authenticated call enters no context for its store read, and the read is still its child', async (t) => {
  const ua = await loggedIn();
  // Every span a context is entered with through the global context manager (the demo's), while the call runs.
  const manager = globalContextManager();
  const original = manager.with;
  const enteredWith: (string | undefined)[] = [];
  manager.with = function recordedWith(this: ContextManager, ...args: Parameters<ContextManager['with']>) {
    enteredWith.push(trace.getSpan(args[0])?.spanContext().spanId);
    return original.apply(this, args);
  } as ContextManager['with'];
  try {
    t.is((await ua.hx('/api/hello', '/')).statusCode, 200);
  } finally {
    manager.with = original;
  }
  await telemetry.flush();
  const [api] = serverSpan('GET /api/hello').slice(-1);
  t.truthy(api, 'the call was sampled');
  t.truthy(children(api!).find((k) => k.name === 'session_store get'), 'its store read is its child');
  // Entering a context is what switches Node 20's promise hooks on for good (request-span.ts).
  t.false(enteredWith.includes(api!.spanId), `no context entered with the request's span (entered: ${enteredWith.length})`);
});

test.serial('no token, cookie value, code, state, session id or email in any exported span', async (t) => {
  await telemetry.flush();
  t.true(secrets.size >= 6);
  const exported = receiver.bodies.join('\n');
  for (const secret of secrets) t.false(exported.includes(secret), `a secret of ${secret.length} characters was exported`);
  // Span names are route templates or fixed names, never a raw path with ids.
  for (const s of receiver.spans) t.regex(s.name, /^(GET|POST|HEAD|PUT|PATCH|DELETE|OPTIONS|_OTHER)( \/[\w/:*.-]*)?$|^(IdP|session_store) \w+$|^\w+ upstream$/);
});
