/**
 * `npm run jwks`: prints the app's public JWKS (RFC 7517 5) for `CLIENT_AUTH_METHOD=private_key_jwt`,
 * to register at the IdP (the running app also serves it at GET /.well-known/jwks.json). Reads the
 * same settings as the app; prints only the public key. Exit 1 with the configuration problems, or
 * when the app does not use private_key_jwt.
 */
import { createBff } from 'koa-oidc-bff';
import { createMemoryStore } from 'koa-oidc-bff/stores/memory';
import { bffOptions, ConfigError, loadConfig, readEnvironment } from '../src/config.ts';

try {
  const config = loadConfig(await readEnvironment());
  if (config.clientAuthMethod !== 'private_key_jwt') {
    process.stderr.write('CLIENT_AUTH_METHOD is not private_key_jwt: there is no client key to publish\n');
    process.exit(1);
  }
  // No request is served: the BFF is built only to read its checked key (discovery is stopped at once).
  const store = createMemoryStore();
  const bff = createBff({ ...bffOptions(config), store });
  process.stdout.write(`${JSON.stringify(bff.clientJwks(), null, 2)}\n`);
  await bff.close();
  await store.close();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
}
