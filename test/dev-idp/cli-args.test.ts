/** The CLI's command line and --config file, turned into startDevIdp options (no process started). */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { CliUsageError, planCli } from '../../dev-idp/cli-args.ts';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, loadDevIdpSettings } from '../../dev-idp/config.ts';
import { tempDir, TEST_ACCOUNTS } from './helpers/harness.ts';

async function serve(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const plan = await planCli(argv, env);
  if (plan.action !== 'serve') throw new Error(`expected serve, got ${plan.action}`);
  return plan.options;
}

test('no flags: exactly what `npm run start:idp` starts from the same environment', async (t) => {
  const env = { DEV_IDP_ISSUER: 'http://127.0.0.1:4500', DEV_API_PORT: '4600', CLIENT_ID: 'x', CLIENT_SECRET: 'y', PORT: '3100', DEV_IDP_ACCOUNTS: 'a.json' };
  const settings = loadDevIdpSettings(env);
  t.deepEqual(await serve([], env), {
    port: settings.port, host: settings.host, apiPort: settings.apiPort, clients: [settings.client], accounts: settings.accountsPath,
  });
  t.deepEqual((await serve([], {})).clients, [{ clientId: DEFAULT_CLIENT_ID, clientSecret: DEFAULT_CLIENT_SECRET, baseUrl: 'http://localhost:3000' }]);
});

test('flags win over the environment; --port or --issuer replace both DEV_IDP_PORT and DEV_IDP_ISSUER', async (t) => {
  const env = { DEV_IDP_PORT: '4500', DEV_IDP_ISSUER: 'http://127.0.0.1:4500', DEV_API_PORT: '4600', DEV_IDP_ACCOUNTS: 'env.json' };
  const options = await serve(['--port', '0', '--api-port=0', '--accounts', 'flag.json', '--data-dir', 'keys'], env);
  t.is(options.port, 0);
  t.is(options.host, 'localhost');
  t.is(options.apiPort, 0);
  t.is(options.accounts, join(process.cwd(), 'flag.json'));
  t.is(options.dataDir, join(process.cwd(), 'keys'));
  const crossSite = await serve(['--issuer', 'http://127.0.0.1:0', '--api-port', 'off'], env);
  t.like(crossSite, { port: 0, host: '127.0.0.1', apiPort: false });
  // An invalid variable a flag replaces does not matter.
  t.is((await serve(['--port', '5000'], { DEV_IDP_PORT: 'nope' })).port, 5000);
});

test('"off" and port 0 are for the command line only; the environment keeps its rules', async (t) => {
  t.throws(() => loadDevIdpSettings({ DEV_API_PORT: 'off' }), { message: /DEV_API_PORT must be a TCP port \(1-65535\)/ });
  t.throws(() => loadDevIdpSettings({ DEV_IDP_PORT: '0' }), { message: /DEV_IDP_PORT must be a TCP port \(1-65535\)/ });
  const error = await t.throwsAsync(planCli(['--port=-1', '--api-port', 'none', '--issuer', 'https://idp.example'], {}), { instanceOf: CliUsageError });
  t.regex(error!.message, /--port must be a TCP port \(0-65535, 0 = a free port\), got "-1"/);
  t.regex(error!.message, /--api-port must be .* or "off", got "none"/);
  t.regex(error!.message, /--issuer must look like http:\/\/localhost:4000/);
  await t.throwsAsync(planCli(['--issuer', 'http://localhost:4000', '--port', '4001'], {}), { message: /--issuer and --port name different ports/ });
});

test('unknown flags and positionals are usage errors that point at --help', async (t) => {
  await t.throwsAsync(planCli(['--prot', '0'], {}), { instanceOf: CliUsageError, message: /--prot[\s\S]*--help/ });
  await t.throwsAsync(planCli(['serve'], {}), { instanceOf: CliUsageError });
  t.deepEqual(await planCli(['-h'], {}), { action: 'help' });
  t.deepEqual(await planCli(['--version'], {}), { action: 'version' });
});

test('--config: its clients replace the CLIENT_* one; its accounts path is relative to the file; --accounts wins over it', async (t) => {
  const dir = await tempDir();
  t.teardown(dir.remove);
  const clients = [
    { clientId: 'one', clientSecret: 's1', redirectUris: ['http://localhost:5001/cb', 'http://localhost:5001/cb2'] },
    { clientId: 'two', clientSecret: 's2', baseUrl: 'http://localhost:5002' },
  ];
  await writeFile(join(dir.path, 'idp.json'), JSON.stringify({ clients, accounts: 'people.json' }));
  const options = await serve(['--config', join(dir.path, 'idp.json')], { CLIENT_ID: 'ignored' });
  t.deepEqual(options.clients, clients);
  t.is(options.accounts, join(dir.path, 'people.json'));
  t.is((await serve(['--config', join(dir.path, 'idp.json'), '--accounts', 'mine.json'])).accounts, join(process.cwd(), 'mine.json'));

  await writeFile(join(dir.path, 'inline.json'), JSON.stringify({ accounts: TEST_ACCOUNTS }));
  const inline = await serve(['--config', join(dir.path, 'inline.json')], { DEV_IDP_ACCOUNTS: 'env.json' });
  t.deepEqual(inline.accounts, TEST_ACCOUNTS, 'the config file wins over DEV_IDP_ACCOUNTS');
  t.is(inline.clients[0]?.clientId, DEFAULT_CLIENT_ID, 'no clients in the file: the CLIENT_* client');
});

test('--config problems are reported together, naming the file', async (t) => {
  const dir = await tempDir();
  t.teardown(dir.remove);
  const file = join(dir.path, 'bad.json');
  await writeFile(file, JSON.stringify({ client: [], clients: [{ clientId: 'x' }], accounts: [{ username: 'u' }] }));
  const error = await t.throwsAsync(planCli(['--config', file, '--port', 'x'], {}), { instanceOf: CliUsageError });
  t.regex(error!.message, /--port must be a TCP port/);
  t.regex(error!.message, /unknown key\(s\) "client"/);
  t.regex(error!.message, new RegExp(`invalid clients in ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} "clients"`));
  t.regex(error!.message, /\[0\]\.clientSecret must be a non-empty string/);
  t.regex(error!.message, /\[0\] needs baseUrl or redirectUris/);
  t.regex(error!.message, /invalid accounts in .*bad\.json "accounts"/);

  await writeFile(file, '{ not json');
  await t.throwsAsync(planCli(['--config', file], {}), { message: /cannot read config file .*bad\.json/ });
  await t.throwsAsync(planCli(['--config', join(dir.path, 'missing.json')], {}), { message: /cannot read config file .*missing\.json: ENOENT/ });
  await writeFile(file, '[]');
  await t.throwsAsync(planCli(['--config', file], {}), { message: /must hold a JSON object/ });
});
