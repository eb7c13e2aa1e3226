/**
 * The demo's SDK wiring with a trace-id ratio sampler (`OTEL_TRACES_SAMPLER=parentbased_traceidratio`,
 * ratio 0): requests without a traceparent are decided before the SDK starts a span
 * (src/telemetry-sampler.ts), so nothing is recorded, yet `callApi` still sends the upstream a
 * valid traceparent carrying the decision (flags 00); a request whose traceparent says sampled is
 * recorded and exported with its parent (parent-based), over real HTTP to an OTLP receiver.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { trace } from '@opentelemetry/api';
import test from 'ava';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.ts';
import { startStack, type Stack } from '../helpers/stack.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { startDemoTelemetry } from '../helpers/telemetry.ts';
import type { RunningTelemetry } from '../../src/telemetry.ts';

let receiver: OtlpReceiver;
let telemetry: RunningTelemetry;
let stack: Stack;
let upstream: http.Server;
const upstreamHeaders: http.IncomingHttpHeaders[] = [];

test.before(async () => {
  receiver = await startOtlpReceiver();
  telemetry = await startDemoTelemetry(receiver, { env: { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0', OTEL_BSP_SCHEDULE_DELAY: '50' } });
  upstream = http.createServer((req, res) => {
    upstreamHeaders.push(req.headers);
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

test.serial('the fast root path is in front of the SDK: the global tracer provider is the ratio one', (t) => {
  const delegate = (trace.getTracerProvider() as unknown as { getDelegate(): object }).getDelegate();
  t.is(delegate.constructor.name, 'RatioRootTracerProvider');
});

test.serial('ratio 0: a login and API calls record nothing, and callApi still sends a valid unsampled traceparent', async (t) => {
  const ua = new UserAgent(stack.appUrl);
  await ua.login();
  const traceIds = new Set<string>();
  for (let i = 0; i < 5; i++) {
    t.is((await ua.hx('/api/remote/hello', '/')).statusCode, 200);
    const sent = String(upstreamHeaders.at(-1)!.traceparent);
    t.regex(sent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    t.notRegex(sent, /^00-0{32}-/);
    traceIds.add(sent.slice(3, 35));
  }
  t.is(traceIds.size, 5, 'a new trace per request');
  await telemetry.flush();
  t.is(receiver.spans.length, 0, receiver.spans.map((s) => s.name).join(', '));
});

test.serial('an incoming sampled traceparent is followed: the request is recorded under its parent and exported', async (t) => {
  const ua = new UserAgent(stack.appUrl);
  await ua.login();
  const parentTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
  const parentSpan = '00f067aa0ba902b7';
  t.is((await ua.hx('/api/remote/hello', '/', { traceparent: `00-${parentTrace}-${parentSpan}-01` })).statusCode, 200);
  await telemetry.flush();
  const api = receiver.spans.find((s) => s.name === 'GET /api/remote/hello');
  t.truthy(api, receiver.spans.map((s) => s.name).join(', '));
  t.is(api!.traceId, parentTrace);
  t.is(api!.parentSpanId, parentSpan);
  t.regex(String(upstreamHeaders.at(-1)!.traceparent), new RegExp(`^00-${parentTrace}-[0-9a-f]{16}-01$`));
});
