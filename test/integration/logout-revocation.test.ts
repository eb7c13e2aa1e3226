/**
 * Logout revokes the session's refresh token at the IdP (RFC 7009): an offline_access refresh
 * token otherwise outlives both the app session and the IdP session.
 */
import test from 'ava';
import got from 'got';
import { CLIENT_ID, CLIENT_SECRET, GENEROUS, startStack } from '../helpers/stack.ts';
import { storedSession } from '../helpers/tokens.ts';
import { UserAgent } from '../helpers/user-agent.ts';

test('after logout the refresh token no longer works at the token endpoint', async (t) => {
  const stack = await startStack({ env: GENEROUS });
  t.teardown(() => stack.close());
  const ua = new UserAgent(stack.appUrl);
  await ua.login();
  const refreshToken = (await storedSession(stack, ua))?.data.refreshToken;
  t.is(typeof refreshToken, 'string');

  await ua.logout();

  const discovery = await got(`${stack.idp.issuer}/.well-known/openid-configuration`).json<{ token_endpoint: string }>();
  const answer = await got.post(discovery.token_endpoint, {
    form: { grant_type: 'refresh_token', refresh_token: String(refreshToken) },
    username: CLIENT_ID,
    password: CLIENT_SECRET,
    throwHttpErrors: false,
    responseType: 'json',
  });
  t.is(answer.statusCode, 400);
  t.is((answer.body as { error?: string }).error, 'invalid_grant');
});
