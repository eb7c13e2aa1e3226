import test from 'ava';
import * as client from 'openid-client';
import { refreshFailureFrom } from '../../src/oidc/oidc-errors.ts';

/** What openid-client 6 throws when its request timeout fires (its options carry the code; the types omit it). */
function openidTimeout(): client.ClientError {
  return new client.ClientError('operation timed out', { cause: new DOMException('timed out', 'TimeoutError'), code: 'OAUTH_TIMEOUT' } as ErrorOptions);
}

test('refresh failures other than invalid_grant (timeouts, network errors) keep the login', (t) => {
  const timeout = openidTimeout();
  t.is(refreshFailureFrom(timeout).kind, 'unavailable');
  t.is(refreshFailureFrom(new TypeError('fetch failed')).kind, 'unavailable');
  t.regex(refreshFailureFrom(timeout).detail, /OAUTH_TIMEOUT/);
});
