/**
 * `npm start` (and `npm run dev`, with `--watch`): the app and the dev-idp side by side, each
 * line prefixed with its server (`[app]` blue, `[idp]` magenta), one Ctrl-C stops both.
 *
 * - The first line says where to go: "App: … · Dev IdP: … · log in as alice / alice-password".
 * - On a terminal in development, the app's log is pretty-printed: the app itself only sees the
 *   pipe to this process, so it is told with LOG_FORMAT=pretty (unless LOG_FORMAT is set).
 *   Piped (a log collector, the tests), the app writes JSON lines as it always does.
 *
 * Settings come from the environment and `.env`, as each server reads them; this script reads
 * them only for the banner and leaves every problem to the server that owns the setting.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { styleText } from 'node:util';
import concurrently from 'concurrently';
import { loadAccountsFile } from '../dev-idp/accounts.ts';
import { loadDevIdpSettings, type DevIdpSettings } from '../dev-idp/config.ts';
import { loadConfig, readEnvironment, type Config } from '../src/config.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const watch = process.argv.includes('--watch');
const terminal = process.stdout.isTTY === true;

const env = await readEnvironment();
const config = attempt((): Config => loadConfig(env));
const idp = attempt((): DevIdpSettings => loadDevIdpSettings({ ...env }));
if (config && idp) {
  const line = await banner(config, idp);
  console.log(terminal ? styleText('bold', line) : line);
}

const run = watch ? 'exec tsx watch --conditions=koa-oidc-bff-source' : 'exec node --import tsx --conditions=koa-oidc-bff-source';
const pretty = terminal && config?.env === 'development' && !config.logFormat;
const { result } = concurrently([
  { name: 'app', command: `${run} src/main.ts`, prefixColor: 'blue', env: pretty ? { LOG_FORMAT: 'pretty' } : {} },
  { name: 'idp', command: `${run} dev-idp/main.ts`, prefixColor: 'magenta' },
], { prefix: 'name', killOthersOn: ['failure', 'success'] });
result.then(() => process.exit(0), () => process.exit(1));

/** `load()`, or undefined when it throws: the server that reads these settings reports the problem. */
function attempt<T>(load: () => T): T | undefined {
  try {
    return load();
  } catch {
    return undefined;
  }
}

/** Where to go: the app, the dev-idp, and the first account of the dev-idp's accounts file. */
async function banner(app: Config, devIdp: DevIdpSettings): Promise<string> {
  const idpUrl = `http://${devIdp.host}:${devIdp.port}`;
  if (!app.issuerIsDevIdp) return `App: ${app.baseUrl.origin} (its IdP: ${app.issuer.origin}) · Dev IdP: ${idpUrl}`;
  const accounts = await loadAccountsFile(devIdp.accountsPath ?? path.join(ROOT, 'dev-idp', 'accounts.json')).catch(() => []);
  const first = accounts[0];
  return `App: ${app.baseUrl.origin} · Dev IdP: ${idpUrl}${first ? ` · log in as ${first.username} / ${first.password}` : ''}`;
}
