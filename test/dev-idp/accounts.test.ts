import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { accountDirectory, loadAccountsFile, validateAccounts } from '../../dev-idp/accounts.ts';
import { DEFAULT_ACCOUNTS_PATH } from '../../dev-idp/index.ts';
import { tempDir } from './helpers/harness.ts';

test('the committed sample accounts are valid and include alice and bob', async (t) => {
  const accounts = await loadAccountsFile(DEFAULT_ACCOUNTS_PATH);
  const names = accounts.map((a) => a.username);
  t.true(names.includes('alice') && names.includes('bob'));
});

test('validation reports every problem at once, with its place', (t) => {
  const error = t.throws(() => validateAccounts([
    { username: 'a', password: '', claims: { sub: 'x' } },
    { username: 'a', password: 'p', claims: { sub: 'x', iss: 'evil' } },
    { username: 'c', password: 'p' },
    'nope',
  ], 'test.json'));
  t.regex(error!.message, /test\.json/);
  t.regex(error!.message, /\[0\]\.password must be a non-empty string/);
  t.regex(error!.message, /\[1\]\.username "a" is a duplicate/);
  t.regex(error!.message, /\[1\]\.claims\.sub "x" is a duplicate/);
  t.regex(error!.message, /\[1\]\.claims\.iss is set by the provider/);
  t.regex(error!.message, /\[2\]\.claims must be an object/);
  t.regex(error!.message, /\[3\] must be an object/);
});

test('an empty list, a missing file and bad JSON are clear errors', async (t) => {
  t.throws(() => validateAccounts([], 'x'), { message: /non-empty JSON array/ });
  const dir = await tempDir();
  try {
    await t.throwsAsync(loadAccountsFile(join(dir.path, 'missing.json')), { message: /cannot read accounts file .*DEV_IDP_ACCOUNTS/ });
    await writeFile(join(dir.path, 'bad.json'), '[{');
    await t.throwsAsync(loadAccountsFile(join(dir.path, 'bad.json')), { message: /is not valid JSON/ });
  } finally {
    await dir.remove();
  }
});

test('authentication needs the exact username and password', (t) => {
  const directory = accountDirectory([{ username: 'alice', password: 'pw', claims: { sub: 's1', team: 'x' } }]);
  t.is(directory.authenticate('alice', 'pw')?.claims.sub, 's1');
  t.is(directory.authenticate('alice', 'PW'), undefined);
  t.is(directory.authenticate('bob', 'pw'), undefined);
  t.deepEqual(directory.claimNames(), ['sub', 'team']);
});
