import { readFileSync } from 'node:fs';
import test from 'ava';
import { LOGIN_FAILURES } from '../../src/oidc/oidc-errors.ts';

const readme = readFileSync(new URL('../../../../README.md', import.meta.url), 'utf8');
const faq = readme.slice(readme.indexOf('### Login failures'));

test('every login failure code has its own plain-words message and a 400, 429, 502 or 503 status', (t) => {
  const messages = Object.values(LOGIN_FAILURES).map(([, message]) => message);
  t.is(new Set(messages).size, messages.length, 'distinct messages');
  for (const [code, [status, message]] of Object.entries(LOGIN_FAILURES)) {
    t.regex(code, /^ERR_LOGIN_[A-Z_]+$/);
    t.true([400, 429, 502, 503].includes(status), code);
    t.notRegex(message, /OAUTH|JWT|undefined|\{|</, `${code}: written for people`);
  }
  t.is(LOGIN_FAILURES.ERR_LOGIN_CANCELLED[1], 'Login cancelled.');
});

test('the README FAQ lists exactly the login failure codes, with their status', (t) => {
  const documented = new Map([...faq.matchAll(/^\| `(ERR_LOGIN_[A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1]!, Number(m[2])]));
  t.deepEqual([...documented.keys()].sort(), Object.keys(LOGIN_FAILURES).sort());
  for (const [code, [status]] of Object.entries(LOGIN_FAILURES)) t.is(documented.get(code), status, code);
});
