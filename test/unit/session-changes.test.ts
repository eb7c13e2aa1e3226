/** What a session save writes: only the changed top-level keys (so concurrent requests do not overwrite each other), and the device summary of the sessions page. */
import test from 'ava';
import { deviceSummary } from '../../src/routes/device-summary.ts';
import { sessionChanges } from '../../packages/koa-oidc-bff/src/session/session-middleware.ts';

test('sessionChanges: changed and new keys are set, missing keys removed, equal ones left out', (t) => {
  const before = { user: { sub: 's', name: 'A' }, accessToken: 'old', csrfSecret: 'c', flag: true };
  const after = { user: { sub: 's', name: 'A' }, accessToken: 'new', csrfSecret: 'c', extra: [1] };
  t.deepEqual(sessionChanges(before, after), { set: { accessToken: 'new', extra: [1] }, remove: ['flag'] });
  t.deepEqual(sessionChanges(before, { ...before }), { set: {}, remove: [] });
  t.deepEqual(sessionChanges({}, { a: 1 }), { set: { a: 1 }, remove: [] });
  t.deepEqual(sessionChanges({ user: { name: 'A' } }, { user: { name: 'B' } }).set, { user: { name: 'B' } }, 'nested change replaces the key');
});

test('deviceSummary names browser and OS, or says it does not know', (t) => {
  t.is(deviceSummary('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36'), 'Chrome 156 on Linux');
  t.is(deviceSummary('Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15'), 'Safari 17 on macOS');
  t.is(deviceSummary(''), 'Unknown browser');
  t.is(deviceSummary('curl/8.5.0'), 'Unknown browser');
  t.is(deviceSummary('<script>alert(1)</script>'), 'Unknown browser');
});
