import test from 'ava';
import { returnToForRequest, returnToFromCurrentUrl, safeReturnTo } from '../../src/login/return-to.ts';
import { RETURN_TO_PAYLOADS } from '../fixtures/return-to-payloads.ts';

const base = new URL('http://localhost:3000');
/** A printable, ASCII-only title for a payload. */
const show = (s: string) => JSON.stringify(s.slice(0, 60)).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

for (const [payload, expected, why] of RETURN_TO_PAYLOADS) {
  test(`safeReturnTo: ${why} ${show(payload)} -> ${expected}`, (t) => {
    t.is(safeReturnTo(payload, base), expected);
  });
}

test('safeReturnTo: the normalised result is never protocol-relative, whatever the dot segments', (t) => {
  for (const prefix of ['/.', '/a/..', '/%2e', '/a/%2e%2e', '/./.', '/a/b/../..']) {
    const result = safeReturnTo(`${prefix}//evil.example/x`, base);
    t.false(result.startsWith('//'), `${prefix} -> ${result}`);
    t.is(new URL(result, base).origin, base.origin);
  }
});

test('safeReturnTo: non-strings and other origins fall back to /', (t) => {
  t.is(safeReturnTo(undefined, base), '/');
  t.is(safeReturnTo(['/a', '/b'], base), '/');
  t.is(safeReturnTo('http://localhost:3001/profile', base), '/');
});

test('returnToFromCurrentUrl: a same-origin HX-Current-URL gives its path, anything else /', (t) => {
  t.is(returnToFromCurrentUrl('http://localhost:3000/profile?x=1', base), '/profile?x=1');
  t.is(returnToFromCurrentUrl('https://evil.example/profile', base), '/');
  t.is(returnToFromCurrentUrl('http://localhost:3000/.//evil.example', base), '/');
  t.is(returnToFromCurrentUrl('not a url', base), '/');
  t.is(returnToFromCurrentUrl(undefined, base), '/');
});

test('returnToForRequest: navigations return to the page asked for, other htmx requests to the page they came from', (t) => {
  const hx = (over: Partial<{ request: boolean; boosted: boolean; historyRestore: boolean; currentUrl: string }>) => ({ request: true, boosted: false, historyRestore: false, currentUrl: 'http://localhost:3000/here?a=1', ...over });
  t.is(returnToForRequest({ method: 'GET', originalUrl: '/sessions', htmx: hx({ request: false, currentUrl: undefined as unknown as string }) }, base), '/sessions');
  t.is(returnToForRequest({ method: 'GET', originalUrl: '/sessions', htmx: hx({ boosted: true }) }, base), '/sessions');
  t.is(returnToForRequest({ method: 'GET', originalUrl: '/sessions', htmx: hx({ historyRestore: true }) }, base), '/sessions');
  t.is(returnToForRequest({ method: 'GET', originalUrl: '/api/hello', htmx: hx({}) }, base), '/here?a=1');
  t.is(returnToForRequest({ method: 'POST', originalUrl: '/sessions/x/end', htmx: hx({ boosted: true }) }, base), '/here?a=1');
  t.is(returnToForRequest({ method: 'GET', originalUrl: '//evil.example/', htmx: hx({ boosted: true }) }, base), '/');
  t.is(returnToForRequest({ method: 'GET', originalUrl: '/api/hello', htmx: hx({ currentUrl: 'https://evil.example/x' }) }, base), '/');
});
