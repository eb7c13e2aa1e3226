/**
 * The demo's OTLP transport over fetch (src/telemetry-fetch-export.ts), against a real HTTP server
 * standing in for a collector: what it sends, when it tries again, and what it reports.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import test from 'ava';
import { createFetchTransport } from '../../src/telemetry-fetch-export.ts';

interface Seen { method: string; url: string; headers: http.IncomingHttpHeaders; body: Buffer; at: number }

/** A collector that answers the n-th request with `answers[n]` (the last one afterwards). */
async function collector(answers: { status: number; headers?: Record<string, string>; body?: string; delayMs?: number }[]) {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks), at: Date.now() });
      const answer = answers[Math.min(seen.length - 1, answers.length - 1)]!;
      setTimeout(() => res.writeHead(answer.status, answer.headers).end(answer.body ?? ''), answer.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`;
  return {
    url, seen,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

const headers = async () => ({ 'Content-Type': 'application/json', 'x-tenant': 'blue' });
const data = new TextEncoder().encode('{"resourceSpans":[]}');

test('posts the body with the configured headers; 2xx is success with the answer', async (t) => {
  const c = await collector([{ status: 200, body: '{"partialSuccess":{}}' }]);
  t.teardown(c.close);
  const result = await createFetchTransport({ url: c.url, headers, compression: 'none' }).send(data, 5000);
  t.is(result.status, 'success');
  t.is(new TextDecoder().decode((result as { data: Uint8Array }).data), '{"partialSuccess":{}}');
  t.is(c.seen.length, 1);
  t.is(c.seen[0]!.method, 'POST');
  t.is(c.seen[0]!.url, '/v1/traces');
  t.is(c.seen[0]!.headers['content-type'], 'application/json');
  t.is(c.seen[0]!.headers['x-tenant'], 'blue');
  t.is(c.seen[0]!.body.toString(), '{"resourceSpans":[]}');
});

test('gzip compression: Content-Encoding gzip and a body that inflates to the data', async (t) => {
  const c = await collector([{ status: 200 }]);
  t.teardown(c.close);
  t.is((await createFetchTransport({ url: c.url, headers, compression: 'gzip' }).send(data, 5000)).status, 'success');
  t.is(c.seen[0]!.headers['content-encoding'], 'gzip');
  t.is(gunzipSync(c.seen[0]!.body).toString(), '{"resourceSpans":[]}');
});

test('503 with Retry-After is tried again after that delay, then succeeds', async (t) => {
  const c = await collector([{ status: 503, headers: { 'retry-after': '1' } }, { status: 200 }]);
  t.teardown(c.close);
  const result = await createFetchTransport({ url: c.url, headers, compression: 'none' }).send(data, 10_000);
  t.is(result.status, 'success');
  t.is(c.seen.length, 2);
  t.true(c.seen[1]!.at - c.seen[0]!.at >= 950, `waited ${c.seen[1]!.at - c.seen[0]!.at} ms`);
});

test('a retryable answer that outlasts the timeout is reported as retryable, without waiting past it', async (t) => {
  const c = await collector([{ status: 429, headers: { 'retry-after': '30' } }]);
  t.teardown(c.close);
  const started = Date.now();
  const result = await createFetchTransport({ url: c.url, headers, compression: 'none' }).send(data, 2000);
  t.is(result.status, 'retryable');
  t.is(c.seen.length, 1);
  t.true(Date.now() - started < 2000);
});

test('at most 5 attempts on answers that stay retryable', async (t) => {
  const c = await collector([{ status: 502, headers: { 'retry-after': '0' } }]);
  t.teardown(c.close);
  const result = await createFetchTransport({ url: c.url, headers, compression: 'none' }).send(data, 10_000);
  t.is(result.status, 'retryable');
  t.is(c.seen.length, 5);
});

test('400 is a failure, not tried again', async (t) => {
  const c = await collector([{ status: 400, body: 'bad' }]);
  t.teardown(c.close);
  const result = await createFetchTransport({ url: c.url, headers, compression: 'none' }).send(data, 5000);
  t.is(result.status, 'failure');
  t.regex((result as { error: Error }).error.message, /400/);
  t.is(c.seen.length, 1);
});

test('a collector slower than the timeout: the request is abandoned and reported retryable', async (t) => {
  const c = await collector([{ status: 200, delayMs: 3000 }]);
  t.teardown(c.close);
  const started = Date.now();
  const result = await createFetchTransport({ url: c.url, headers, compression: 'none' }).send(data, 500);
  t.is(result.status, 'retryable');
  t.true(Date.now() - started < 2500, `${Date.now() - started} ms`);
});

test('nothing listening: retryable (a network error), never a rejection', async (t) => {
  const c = await collector([{ status: 200 }]);
  await c.close();
  const result = await createFetchTransport({ url: c.url, headers, compression: 'none' }).send(data, 1500);
  t.is(result.status, 'retryable');
});

test('user and password in the URL go as Basic credentials, as node:http sends them; the URL itself carries none', async (t) => {
  const c = await collector([{ status: 200 }]);
  t.teardown(c.close);
  const withCredentials = c.url.replace('http://', 'http://otel%40tenant:s3cr%3At@');
  const result = await createFetchTransport({ url: withCredentials, headers, compression: 'none' }).send(data, 5000);
  t.is(result.status, 'success');
  t.is(c.seen[0]!.headers.authorization, `Basic ${Buffer.from('otel@tenant:s3cr:t').toString('base64')}`);
  t.is(c.seen[0]!.url, '/v1/traces');
});
