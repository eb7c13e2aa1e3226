import test from 'ava';
import { checkRequirement, insufficientUserAuthentication } from '../../src/session/step-up.ts';

test('an RFC 9470 challenge is read with its acr_values and max_age, quoted or not, in any challenge of the header', (t) => {
  t.deepEqual(insufficientUserAuthentication('Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="myACR"'), { acrValues: 'myACR', maxAge: undefined });
  t.deepEqual(insufficientUserAuthentication('Bearer error="insufficient_user_authentication", error_description="More recent authentication is required", max_age="5"'), { acrValues: undefined, maxAge: 5 });
  t.deepEqual(insufficientUserAuthentication('DPoP realm="api", Bearer realm="api", error=insufficient_user_authentication, acr_values="urn:a urn:b", max_age=60'), { acrValues: 'urn:a urn:b', maxAge: 60 });
});

test('other challenges, malformed values and no header are not step-up', (t) => {
  t.is(insufficientUserAuthentication(null), undefined);
  t.is(insufficientUserAuthentication('Bearer realm="api"'), undefined);
  t.is(insufficientUserAuthentication('Bearer error="invalid_token", error_description="insufficient_user_authentication"'), undefined);
  // A value that would not survive the login URL's checks is dropped, not passed on.
  t.deepEqual(insufficientUserAuthentication('Bearer error="insufficient_user_authentication", acr_values="a\\"b", max_age="-1"'), { acrValues: undefined, maxAge: undefined });
});

test('requirements are checked when declared', (t) => {
  t.deepEqual(checkRequirement({ acr: ['urn:a', 'urn:b'], maxAge: 300 }), { acrValues: 'urn:a urn:b', maxAge: 300 });
  t.throws(() => checkRequirement({ acr: [] }), { instanceOf: TypeError });
  t.throws(() => checkRequirement({ maxAge: -1 }), { instanceOf: TypeError });
});
