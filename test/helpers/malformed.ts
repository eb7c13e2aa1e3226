/**
 * Generators of malformed requests for the fuzz test: broken cookies (forged session and
 * transaction cookies), oversized and non-UTF-8 headers, wrong content types, huge and malformed
 * form bodies, bad query strings and wrong methods, over every route. Deterministic for a seed.
 */
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { RawRequest } from './raw-http.ts';

/** A small seeded PRNG (mulberry32): the same seed gives the same requests. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const ROUTES = [
  '/', '/profile', '/login', '/callback', '/logout', '/api/session', '/api/hello', '/healthz', '/readyz',
  '/api/remote/hello', '/backchannel-logout', '/sessions', '/sessions/end-others', '/sessions/AAAAAAAAAAAA/end', '/static/app.css', '/static/app.js', '/vendor/htmx/htmx.min.js', '/no-such-page',
  '/api/no-such-api',
];
export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE'];

/** What the generator may put in cookies besides junk: the real session of the run. */
export interface Known {
  sid: string;
  sig: string;
}

const STATE = () => randomBytes(32).toString('base64url');
const b64 = (n: number) => randomBytes(n).toString('base64url');
/** Bytes 0x80-0xff as latin1 characters: not valid UTF-8 on the wire. */
const NON_UTF8 = '\xff\xfe\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x90\x28\xbc';

const BAD_PATHS = ['/%', '/%zz', '/%E0%A4%A', '/static/%', '/static/%2e%2e/package.json', '/static/../package.json', '/vendor/htmx/%c0%ae%c0%ae/x', '//evil.example/login', '/login/', '/LOGIN', '/api/', '/api//hello', `/${'a'.repeat(8000)}`, `/${NON_UTF8}`, '/callback;x=1', 'http://evil.example/login', '*'];

const RETURN_TO = [
  'returnTo=/profile&returnTo=//evil.example', 'returnTo[]=/profile', 'returnTo[a]=b', 'returnTo=%', 'returnTo=%zz', 'returnTo=%E0%A4%A',
  'returnTo=//evil.example', 'returnTo=/%5cevil.example', 'returnTo=javascript:alert(1)', 'returnTo=%00', 'returnTo=/%0d%0aSet-Cookie:x=1',
  `returnTo=/${'x'.repeat(5000)}`, `returnTo=${NON_UTF8}`, 'returnTo', '&&&==&', '__proto__[x]=1&constructor[prototype][x]=1',
  Array.from({ length: 1000 }, (_, i) => `p${i}=${i}`).join('&'), 'returnTo=https://evil.example/', 'returnTo=/callback', 'returnTo=%252F%252Fevil.example',
];

function cookies(pick: <T>(xs: readonly T[]) => T, known: Known): string[] {
  const state = STATE();
  return [
    `bff.sid=${b64(24)}; bff.sid.sig=${b64(20)}`, // forged session and signature
    `bff.sid=${known.sid}; bff.sid.sig=${b64(20)}`, // real id, forged signature
    `bff.sid=${b64(24)}; bff.sid.sig=${known.sig}`, // real signature, other id
    `bff.sid=${known.sid}`, // unsigned
    `bff.tx.${state}=${b64(200)}`, // junk transaction
    `bff.tx.${state}=${b64(10)}.${b64(0)}.${b64(12)}.${b64(80)}.${b64(16)}`, // a JWE's shape, not its content
    `bff.tx.short=${b64(40)}`, `bff.tx.${'a'.repeat(200)}=x`, 'bff.tx.a"b=1', `bff.tx.${NON_UTF8}=${NON_UTF8}`,
    Array.from({ length: 30 }, () => `bff.tx.${STATE()}=${b64(100)}`).join('; '),
    'bff.sid="quoted"; bff.sid.sig="x"', ';;;', '=', 'bff.sid=', `bff.sid=${'%'.repeat(50)}`, `bff.sid=${NON_UTF8}`,
    `bff.sid=${known.sid}; bff.sid.sig=${known.sig}; bff.sid=${b64(24)}`, // duplicate names
    `x=${'y'.repeat(12_000)}`, // large, under the header limit
    `x=${'y'.repeat(20_000)}`, // over the header limit: 431
    `${pick(['__proto__', 'constructor', 'toString'])}=1`,
  ];
}

function headers(pick: <T>(xs: readonly T[]) => T): [string, string][] {
  return [
    ['HX-Request', pick(['true', 'false', 'TRUE', NON_UTF8, ''])],
    ['HX-Current-URL', pick(['http://localhost/profile', 'http://evil.example/', 'not a url', NON_UTF8, `http://localhost/${'%'.repeat(100)}`, ''])],
    ['HX-Boosted', 'true'], ['HX-History-Restore-Request', 'true'],
    ['Origin', pick(['null', 'http://evil.example', 'http://localhost', NON_UTF8, '::::'])],
    ['Referer', pick(['http://evil.example/', 'garbage', NON_UTF8])],
    ['X-CSRF', pick(['1', '0', 'true'])],
    ['Accept', pick(['application/json', 'text/html', '*/*', 'garbage/;;;', '', 'application/json;q=0, text/html;q=0'])],
    ['Accept-Encoding', pick(['gzip', 'br', 'identity;q=0', '*;q=0'])],
    ['X-Forwarded-For', pick(['1.2.3.4, evil', NON_UTF8])], ['X-Forwarded-Proto', pick(['https', 'javascript'])], ['X-Forwarded-Host', 'evil.example'],
    ['User-Agent', pick([NON_UTF8, 'x'.repeat(8000), ''])],
    ['X-Long', 'v'.repeat(pick([1000, 15_000, 17_000]))],
    ['If-None-Match', pick(['*', '"x"', NON_UTF8])], ['Range', pick(['bytes=0-1', 'bytes=-1,5-', 'bytes=x'])],
    ['Authorization', `Bearer ${b64(30)}`],
  ];
}

function bodies(pick: <T>(xs: readonly T[]) => T): { type?: string; encoding?: string; body: Buffer }[] {
  const form = (s: string) => ({ type: 'application/x-www-form-urlencoded', body: Buffer.from(s, 'latin1') });
  return [
    form(`state=${STATE()}&code=${b64(30)}&iss=http://localhost`),
    form('state=%zz&code=%'), form(`state=${STATE()}&state=${STATE()}`), form('state[]=a&code[]=b'), form('state[a][b]=c&_csrf[x]=1'),
    form(`_csrf=${b64(30)}`), form(`logout_token=${b64(40)}.${b64(80)}.${b64(64)}`), form('logout_token=a&logout_token=b'), form(NON_UTF8), form('&&&===&'), form(Array.from({ length: 2000 }, (_, i) => `f${i}=${i}`).join('&')),
    form(`state=${'s'.repeat(100_000)}`), // beyond the form limit: 413
    form(`a=${'b'.repeat(60_000)}`), // under it
    { type: 'application/json', body: Buffer.from('{"state":"x","code":"y"}') },
    { type: 'application/json', body: Buffer.from('{"state":') },
    { type: 'text/plain', body: Buffer.from('state=x') }, { type: 'multipart/form-data; boundary=x', body: Buffer.from('--x\r\n\r\n--x--') },
    { type: 'application/x-www-form-urlencoded; charset=klingon', body: Buffer.from('state=x') },
    { type: 'application/x-www-form-urlencoded; charset=utf-16', body: Buffer.from('state=x') },
    { type: 'application/x-www-form-urlencoded', encoding: 'gzip', body: Buffer.from('not gzip') },
    { type: 'application/x-www-form-urlencoded', encoding: 'gzip', body: gzipSync(`a=${'0'.repeat(2_000_000)}`) }, // small on the wire, 2 MB inflated: 413
    { type: 'application/x-www-form-urlencoded', encoding: 'br, compress', body: Buffer.from('x') },
    { type: pick(['', NON_UTF8, ';;;', 'application/x-www-form-urlencoded;;;']), body: Buffer.from('state=x') },
    { body: Buffer.from('state=x') }, // no content type
    { type: 'application/x-www-form-urlencoded', body: randomBytes(pick([10, 1000, 70_000])) },
  ];
}

/**
 * The `i`-th request of a run: the first ROUTES×METHODS requests cover every route with every
 * method (with random damage), the rest pick everything at random.
 */
export function malformedRequest(i: number, random: () => number, known: Known): RawRequest {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const systematic = i < ROUTES.length * METHODS.length;
  const method = systematic ? METHODS[i % METHODS.length]! : pick([...METHODS, 'FOO', 'get', 'PROPFIND', 'M-SEARCH', 'POST', 'POST', 'GET']);
  let target = systematic ? ROUTES[Math.floor(i / METHODS.length)]! : random() < 0.15 ? pick(BAD_PATHS) : pick(ROUTES);
  // The routes that read a body get most of the bodies.
  if (!systematic && method === 'POST' && random() < 0.5) target = pick(['/callback', '/logout', '/backchannel-logout', '/sessions/end-others', '/sessions/AAAAAAAAAAAA/end']);
  if (random() < 0.5) target += `${target.includes('?') ? '&' : '?'}${pick(RETURN_TO)}`;
  const hdrs: [string, string][] = [];
  const allHeaders = headers(pick);
  for (let n = Math.floor(random() * 5); n > 0; n--) hdrs.push(pick(allHeaders));
  if (random() < 0.7) hdrs.push(['Cookie', pick(cookies(pick, known))]);
  if (random() < 0.1) hdrs.push(['Cookie', pick(cookies(pick, known))]); // a second Cookie header
  const request: RawRequest = { method, target, headers: hdrs };
  if (method !== 'GET' && method !== 'HEAD' && random() < 0.8) {
    if (random() < 0.05) {
      // Complete but invalid framing (an incomplete one would only wait for the rest).
      request.rawChunked = pick(['zz\r\nabc\r\n0\r\n\r\n', '5\r\nab\r\n0\r\n\r\n', '3\r\nabcdef\r\n0\r\n\r\n', '-1\r\nabc\r\n0\r\n\r\n']);
      hdrs.push(['Content-Type', 'application/x-www-form-urlencoded']);
    } else {
      const b = pick(bodies(pick));
      if (b.type !== undefined) hdrs.push(['Content-Type', b.type]);
      if (b.encoding) hdrs.push(['Content-Encoding', b.encoding]);
      request.body = b.body;
    }
  }
  return request;
}
