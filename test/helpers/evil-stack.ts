/**
 * The app wired to the misbehaving test IdP (evil-idp.ts) instead of the dev-idp, plus the login
 * steps against it (its authorization endpoint answers at once with the form_post page).
 */
import { CLIENT_ID, CLIENT_SECRET, listenFirst, startApp, type Stack, type StackOptions } from './stack.ts';
import { startEvilIdp, type EvilIdp, type EvilIdpOptions, type Scenario } from './evil-idp.ts';
import { isRedirect, readForm, type UserAgent } from './user-agent.ts';

export interface EvilStackOptions extends Pick<StackOptions, 'env' | 'store' | 'now'> {
  /** Initial scenario (default: valid responses). */
  scenario?: Scenario;
  idp?: Pick<EvilIdpOptions, 'host' | 'issParameterSupported' | 'signingAlgs' | 'par'>;
}

export interface EvilStack extends Omit<Stack, 'idp'> {
  idp: EvilIdp;
}

/** Starts the evil IdP (on 127.0.0.1 by default: another site than the app) and the app against it. */
export async function startEvilStack(options: EvilStackOptions = {}): Promise<EvilStack> {
  const { server, port, appUrl } = await listenFirst();
  const baseUrl = options.env?.BASE_URL ?? appUrl;
  const idp = await startEvilIdp({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUri: `${baseUrl}/callback`, ...options.idp });
  if (options.scenario) idp.scenario = options.scenario;
  const running = await startApp(server, port, appUrl, idp.issuer, options).catch(async (err: unknown) => {
    await idp.close();
    throw err;
  });
  return {
    ...running, idp,
    async close() {
      await running.close();
      await idp.close();
    },
  };
}

/**
 * `GET /login`, then the evil IdP's authorization endpoint; returns its form_post form (not yet
 * POSTed to /callback) and the `state` the app chose.
 */
export async function evilLoginUntilCallback(ua: UserAgent, returnTo = '/'): Promise<{ action: string; fields: Record<string, string> }> {
  const start = await ua.http.get(ua.url(`/login?returnTo=${encodeURIComponent(returnTo)}`));
  if (start.statusCode !== 302) throw new Error(`/login answered ${start.statusCode}: ${start.body}`);
  const page = await ua.http.get(start.headers.location!);
  if (page.statusCode !== 200 || isRedirect(page)) throw new Error(`evil authorize answered ${page.statusCode}: ${page.body}`);
  return readForm(page.body);
}
