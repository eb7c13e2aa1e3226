import test from 'ava';
import got from 'got';
import { createMemoryStore } from 'koa-oidc-bff/stores/memory';
import { startStack, type Stack } from '../helpers/stack.ts';
import { UserAgent } from '../helpers/user-agent.ts';

const OLD = 'old-session-secret-0123456789abcdef';
const NEW = 'new-session-secret-0123456789abcdef';
const store = createMemoryStore();
const stacks: Stack[] = [];

test.after.always(async () => {
  await Promise.all(stacks.map((s) => s.close()));
  await store.close();
});

async function stack(secret: string): Promise<Stack> {
  const s = await startStack({ store, env: { SESSION_SECRET: secret } });
  stacks.push(s);
  return s;
}

/** GET /api/session as a JSON client with exactly `cookie`. */
function sessionCall(appUrl: string, cookie: string) {
  return got(`${appUrl}/api/session`, { headers: { 'x-csrf': '1', accept: 'application/json', cookie }, throwHttpErrors: false, retry: { limit: 0 } });
}

test('the session cookie signature: valid, rotated-out key, forged, missing and removed key', async (t) => {
  const signedWithOld = await stack(OLD);
  const rotated = await stack(`${NEW},${OLD}`);
  const newOnly = await stack(NEW);

  const agent = new UserAgent(signedWithOld.appUrl);
  await agent.login();
  const id = (await agent.cookie('bff.sid'))!;
  const sig = (await agent.cookie('bff.sid.sig'))!;
  t.truthy(id);
  t.truthy(sig);

  t.is((await sessionCall(signedWithOld.appUrl, `bff.sid=${id}; bff.sid.sig=${sig}`)).statusCode, 200);

  // Key rotation: the old key still verifies, and the answer re-signs the cookie with the new key.
  const onRotated = await sessionCall(rotated.appUrl, `bff.sid=${id}; bff.sid.sig=${sig}`);
  t.is(onRotated.statusCode, 200);
  const resigned = (onRotated.headers['set-cookie'] ?? []).map((c) => /^bff\.sid\.sig=([^;]+)/.exec(c)?.[1]).find(Boolean);
  t.truthy(resigned);
  t.not(resigned, sig);
  t.is((await sessionCall(newOnly.appUrl, `bff.sid=${id}; bff.sid.sig=${resigned}`)).statusCode, 200);

  // Once the old key is removed, its signatures no longer open the session.
  t.is((await sessionCall(newOnly.appUrl, `bff.sid=${id}; bff.sid.sig=${sig}`)).statusCode, 401);

  const forged = `${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`;
  t.is((await sessionCall(signedWithOld.appUrl, `bff.sid=${id}; bff.sid.sig=${forged}`)).statusCode, 401);
  t.is((await sessionCall(signedWithOld.appUrl, `bff.sid=${id}`)).statusCode, 401);
  t.is((await sessionCall(signedWithOld.appUrl, `bff.sid=${id}; bff.sid.sig=`)).statusCode, 401);
});
