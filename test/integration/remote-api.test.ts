/**
 * GET /api/remote/hello: the app calls the upstream API with the user's access token, and with
 * nothing else from the browser's request; the page gets the answer, never a token.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import got from 'got';
import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose';
import { parse } from 'node-html-parser';
import { startStack } from '../helpers/stack.ts';
import { storedSession } from '../helpers/tokens.ts';
import { UserAgent } from '../helpers/user-agent.ts';

test('the remote API answers the page with the user\'s identity; tokens never reach the page', async (t) => {
  const stack = await startStack({ api: true });
  t.teardown(() => stack.close());
  const ua = new UserAgent(stack.appUrl);
  await ua.login();
  const record = await storedSession(stack, ua);
  const tokens = [record!.data.accessToken, record!.data.refreshToken, record!.data.idToken].map(String);

  const fragment = await ua.hx('/api/remote/hello', '/');
  t.is(fragment.statusCode, 200);
  t.is(fragment.headers['cache-control'], 'no-store');
  const doc = parse(fragment.body);
  t.is(doc.querySelector('[data-testid="remote-message"]')?.text, 'Hello from the remote API');
  t.is(doc.querySelector('[data-testid="remote-sub"]')?.text, 'a1b2c3d4-alice');

  const json = await ua.http.get(ua.url('/api/remote/hello'), { headers: { accept: 'application/json', 'x-csrf': '1' } });
  t.is(json.statusCode, 200);
  const body = JSON.parse(json.body) as Record<string, unknown>;
  t.like(body, { message: 'Hello from the remote API', sub: 'a1b2c3d4-alice' });
  t.regex(String(body.scope), /\bopenid\b/);
  for (const answer of [fragment, json]) {
    for (const token of tokens) t.false(answer.body.includes(token), 'no token in the answer');
  }

  // The home page has the button, wired to its own result area.
  const button = parse((await ua.navigate('/')).body).querySelectorAll('button').find((b) => b.text.trim() === 'Call remote API');
  t.is(button?.getAttribute('hx-get'), '/api/remote/hello');
  t.is(button?.getAttribute('hx-target'), '#remote-result');
});

test('without a session the remote call is refused before any upstream call', async (t) => {
  const stack = await startStack({ api: true });
  t.teardown(() => stack.close());
  const answer = await new UserAgent(stack.appUrl).hx('/api/remote/hello', '/');
  t.is(answer.statusCode, 401);
  t.is(answer.headers['hx-redirect'], undefined, 'never logged in: the notice, not a redirect');
});

test('the remote API accepts the user\'s access token and rejects a missing, tampered or forged one', async (t) => {
  const stack = await startStack({ api: true });
  t.teardown(() => stack.close());
  const ua = new UserAgent(stack.appUrl);
  await ua.login();
  const token = String((await storedSession(stack, ua))!.data.accessToken);
  const hello = `${stack.idp.apiUrl}/resource/hello`;
  const call = (authorization?: string) => got(hello, { throwHttpErrors: false, headers: authorization ? { authorization } : {} });

  t.is((await call(`Bearer ${token}`)).statusCode, 200);
  const missing = await call();
  t.is(missing.statusCode, 401);
  t.is(missing.headers['www-authenticate'], 'Bearer realm="dev-api"');

  // Same signature, another subject.
  const [header, , signature] = token.split('.');
  const claims = decodeJwt(token);
  const tampered = `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: 'e5f6a7b8-bob' })).toString('base64url')}.${signature}`;
  t.is((await call(`Bearer ${tampered}`)).statusCode, 401);

  // Same claims and key id, signed with a key that is not the IdP's.
  const { privateKey } = await generateKeyPair('RS256');
  const forged = await new SignJWT(claims).setProtectedHeader({ ...decodeProtectedHeader(token), alg: 'RS256' }).sign(privateKey);
  const refused = await call(`Bearer ${forged}`);
  t.is(refused.statusCode, 401);
  t.regex(String(refused.headers['www-authenticate']), /error="invalid_token"/);
});

/** A stand-in upstream API that records what it receives and answers as told. */
async function recordingUpstream(answer: (req: http.IncomingMessage, res: http.ServerResponse) => void) {
  const seen: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    answer(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

const json = (body: unknown) => (_req: http.IncomingMessage, res: http.ServerResponse) => {
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

test('the upstream request carries the bearer token and nothing from the browser\'s request', async (t) => {
  const upstream = await recordingUpstream(json({ message: 'hi', sub: 'x', access_token: 'leak-me' }));
  const stack = await startStack({ api: true, env: { REMOTE_API_URL: upstream.url } });
  t.teardown(async () => {
    await stack.close();
    await upstream.close();
  });
  const ua = new UserAgent(stack.appUrl, { 'x-forwarded-for': '203.0.113.9', 'accept-language': 'fr' });
  await ua.login();
  const token = String((await storedSession(stack, ua))!.data.accessToken);

  const answer = await ua.http.get(ua.url('/api/remote/hello'), { headers: { accept: 'application/json', 'x-csrf': '1', 'hx-current-url': `${stack.appUrl}/` } });
  t.is(answer.statusCode, 200);
  t.deepEqual(JSON.parse(answer.body), { message: 'hi', sub: 'x' }, 'only the known fields reach the page');
  t.is(upstream.seen.length, 1);
  const headers = upstream.seen[0]!;
  t.is(headers.authorization, `Bearer ${token}`);
  for (const name of ['cookie', 'x-csrf', 'hx-current-url', 'x-forwarded-for', 'x-request-id']) {
    t.is(headers[name], undefined, `${name} is not forwarded`);
  }
  t.not(headers['accept-language'], 'fr', 'accept-language is not forwarded');
  t.false(String(headers['user-agent']).includes('Chrome'), 'the browser\'s User-Agent is not forwarded');
});

type Answer = (req: http.IncomingMessage, res: http.ServerResponse) => void;
const failures: { name: string; code: string; answer: Answer; env?: Record<string, string> }[] = [
  { name: 'an error status', code: 'ERR_UPSTREAM_STATUS', answer: (_req, res) => res.writeHead(500).end('boom') },
  { name: 'a 401 for the token', code: 'ERR_UPSTREAM_STATUS', answer: (_req, res) => res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end() },
  { name: 'a body that is not JSON', code: 'ERR_UPSTREAM_RESPONSE', answer: (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>') },
  { name: 'JSON of another shape', code: 'ERR_UPSTREAM_RESPONSE', answer: json({ greeting: 'hi' }) },
  { name: 'a redirect (never followed with the token)', code: 'ERR_UPSTREAM_REDIRECT', answer: (_req, res) => res.writeHead(302, { location: 'http://127.0.0.1:9/steal' }).end() },
  { name: 'a huge body', code: 'ERR_UPSTREAM_TOO_LARGE', answer: (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(`{"message":"${'x'.repeat(2 * 1024 * 1024)}"}`) },
  { name: 'no answer in time', code: 'ERR_UPSTREAM_TIMEOUT', answer: () => undefined, env: { IDP_TIMEOUT: '2' } },
];

for (const failure of failures) {
  // Serial: seven stacks at once on a small machine would only test the machine.
  test.serial(`an upstream that gives ${failure.name} answers 502 ${failure.code}`, async (t) => {
    const upstream = await recordingUpstream(failure.answer);
    // The upstream timeout is IDP_TIMEOUT (seconds).
    const stack = await startStack({ api: true, env: { REMOTE_API_URL: upstream.url, ...failure.env } });
    t.teardown(async () => {
      await stack.close();
      await upstream.close();
    });
    const ua = new UserAgent(stack.appUrl);
    await ua.login();
    const answer = await ua.http.get(ua.url('/api/remote/hello'), { headers: { accept: 'application/json', 'x-csrf': '1' } });
    t.is(answer.statusCode, 502);
    t.is(JSON.parse(answer.body).error, failure.code);
    const fragment = await ua.hx('/api/remote/hello', '/');
    t.is(fragment.statusCode, 502);
    t.is(parse(fragment.body).querySelector('[data-testid="error"]')?.getAttribute('data-code'), failure.code);
    t.is((await ua.http.get(ua.url('/api/session'), { headers: { 'x-csrf': '1' } })).statusCode, 200, 'the session is kept');
  });
}

test('an unreachable upstream answers 502 ERR_UPSTREAM_UNREACHABLE', async (t) => {
  const upstream = await recordingUpstream(json({}));
  await upstream.close();
  const stack = await startStack({ api: true, env: { REMOTE_API_URL: upstream.url } });
  t.teardown(() => stack.close());
  const ua = new UserAgent(stack.appUrl);
  await ua.login();
  const answer = await ua.http.get(ua.url('/api/remote/hello'), { headers: { accept: 'application/json', 'x-csrf': '1' } });
  t.is(answer.statusCode, 502);
  t.is(JSON.parse(answer.body).error, 'ERR_UPSTREAM_UNREACHABLE');
});

test('a login without an access token (RESPONSE_TYPE=id_token) cannot call the remote API: 403 ERR_NO_ACCESS_TOKEN', async (t) => {
  const stack = await startStack({ api: true, env: { RESPONSE_TYPE: 'id_token' } });
  t.teardown(() => stack.close());
  const ua = new UserAgent(stack.appUrl);
  await ua.login();
  const answer = await ua.http.get(ua.url('/api/remote/hello'), { headers: { accept: 'application/json', 'x-csrf': '1' } });
  t.is(answer.statusCode, 403);
  t.is(JSON.parse(answer.body).error, 'ERR_NO_ACCESS_TOKEN');
  t.is(stack.idp.stats.refreshRequests, 0);
});
