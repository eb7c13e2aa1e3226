/**
 * Which IdP calls make spans: a token refresh of a sampled request is a child of that request's
 * trace, and the refresh of a request that is not sampled makes no span at all (it used to start a
 * trace of its own, an "IdP token" root whose request was nowhere). The sampler follows an
 * incoming `traceparent` and samples every new trace, so a stray root would be exported.
 */
import test from 'ava';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.ts';
import { startStack, type Stack } from '../helpers/stack.ts';
import { startDemoTelemetry } from '../helpers/telemetry.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import type { RunningTelemetry } from '../../src/telemetry.ts';

let receiver: OtlpReceiver;
let telemetry: RunningTelemetry;
let stack: Stack;

test.before(async () => {
  receiver = await startOtlpReceiver();
  telemetry = await startDemoTelemetry(receiver, { env: { OTEL_TRACES_SAMPLER: 'parentbased_always_on', OTEL_BSP_SCHEDULE_DELAY: '50' } });
  // Every access token counts as expiring (skew beyond its 10-minute life): each remote API call refreshes.
  stack = await startStack({ api: true, ttl: { AccessToken: 600 }, env: { TOKEN_REFRESH_SKEW: '3600' } });
});

test.after.always(async () => {
  await stack?.close();
  await telemetry?.shutdown();
  await receiver?.close();
});

const idpTokenSpans = () => receiver.spans.filter((s) => s.name === 'IdP token');
const spanById = (id: string | undefined) => receiver.spans.find((s) => s.spanId === id);

/** The server span at the top of `span`'s trace, following parents. */
function rootOf(span: ReceivedSpan): ReceivedSpan {
  let at = span;
  for (let parent = spanById(at.parentSpanId); parent; parent = spanById(at.parentSpanId)) at = parent;
  return at;
}

test.serial('a refresh in a sampled request is in its trace; in a request that is not sampled, it makes no span', async (t) => {
  const ua = new UserAgent(stack.appUrl);
  t.is((await ua.login('alice', 'alice-password')).statusCode, 200);
  await telemetry.flush();
  const afterLogin = idpTokenSpans().length;
  t.true(afterLogin >= 1, 'the login redeemed its code');

  // Sampled (a new trace): the refresh's token request belongs to the call's trace.
  t.is((await ua.hx('/api/remote/hello', '/')).statusCode, 200);
  await telemetry.flush();
  const sampled = idpTokenSpans().slice(afterLogin);
  t.is(sampled.length, 1, 'one refresh');
  t.truthy(sampled[0]!.parentSpanId, 'not a root');
  t.is(rootOf(sampled[0]!).name, 'GET /api/remote/hello');

  // Not sampled (the incoming traceparent says so): the refresh happens, no span is exported.
  const before = idpTokenSpans().length;
  const refreshes = stack.logs().filter((l) => l.event === 'token.refreshed').length;
  t.is((await ua.hx('/api/remote/hello', '/', { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00' })).statusCode, 200);
  await telemetry.flush();
  t.is(stack.logs().filter((l) => l.event === 'token.refreshed').length, refreshes + 1, 'the call refreshed its tokens');
  t.deepEqual(idpTokenSpans().slice(before).map((s) => s.traceId), [], 'no IdP span of its own');
});
