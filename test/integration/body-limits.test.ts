/**
 * Issue 8, "Malformed input": body limits are explicit. The two routes that read a body
 * (`POST /callback`, `POST /logout`) take small urlencoded forms only: too large -> 413 (also
 * when small on the wire but large once decompressed), another content type -> 415, malformed -> 400.
 */
import test from 'ava';
import { gzipSync } from 'node:zlib';
import { startStack, type Stack } from '../helpers/stack.ts';
import { UserAgent } from '../helpers/user-agent.ts';

let stack: Stack;
test.before(async () => {
  stack = await startStack();
});
test.after.always(() => stack?.close());

const post = (path: string, body: string | Buffer, headers: Record<string, string>) =>
  new UserAgent(stack.appUrl).http.post(`${stack.appUrl}${path}`, { body, headers: { origin: stack.appUrl, accept: 'application/json', ...headers } });
const errorOf = (body: string) => (JSON.parse(body) as { error: string }).error;
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

for (const path of ['/callback', '/logout']) {
  test(`${path}: a form of more than 100 fields is refused with 400, never cut short`, async (t) => {
    const fields = Array.from({ length: 101 }, (_, i) => `f${i}=x`).join('&');
    const res = await post(path, `${fields}&state=abc&_csrf=abc`, FORM);
    t.is(res.statusCode, 400);
    // Not a missing `state` or a bad `_csrf`: the form as a whole is refused.
    t.is(errorOf(res.body), 'ERR_LOGIN_BAD_REQUEST');
  });

  test(`${path}: a form over the limit is refused with 413`, async (t) => {
    const res = await post(path, `state=${'s'.repeat(70 * 1024)}`, FORM);
    t.is(res.statusCode, 413);
    t.is(errorOf(res.body), 'ERR_BODY_TOO_LARGE');
  });

  test(`${path}: a gzip body of 2 KB that inflates beyond the limit is refused with 413`, async (t) => {
    const res = await post(path, gzipSync(`a=${'0'.repeat(1_000_000)}`), { ...FORM, 'content-encoding': 'gzip' });
    t.is(res.statusCode, 413);
  });

  for (const [type, body] of [['application/json', '{"state":"x"}'], ['text/plain', 'state=x'], ['multipart/form-data; boundary=b', '--b--']] as const) {
    test(`${path}: a body of type ${type.split(';')[0]} is refused with 415`, async (t) => {
      const res = await post(path, body, { 'content-type': type });
      t.is(res.statusCode, 415);
      t.is(errorOf(res.body), 'ERR_UNSUPPORTED_MEDIA_TYPE');
    });
  }

  test(`${path}: an unsupported content encoding is refused with 415`, async (t) => {
    const res = await post(path, 'state=x', { ...FORM, 'content-encoding': 'compress' });
    t.is(res.statusCode, 415);
    t.is(errorOf(res.body), 'ERR_UNSUPPORTED_MEDIA_TYPE');
  });
}

test('/callback: a body that is not valid gzip is a 400, not a 5xx', async (t) => {
  const res = await post('/callback', 'not gzip', { ...FORM, 'content-encoding': 'gzip' });
  t.is(res.statusCode, 400);
  t.is(errorOf(res.body), 'ERR_LOGIN_BAD_REQUEST');
});

test('/callback: a form under the limit is read (and refused for what it says: no state)', async (t) => {
  const res = await post('/callback', `padding=${'p'.repeat(60 * 1024)}`, FORM);
  t.is(res.statusCode, 400);
  t.is(errorOf(res.body), 'ERR_LOGIN_STATE_MISSING');
});

test('/callback: nested or dotted fields are not turned into objects', async (t) => {
  const res = await post('/callback', 'state.x=1&code[a]=b', FORM);
  t.is(res.statusCode, 400);
  t.is(errorOf(res.body), 'ERR_LOGIN_STATE_MISSING');
});
