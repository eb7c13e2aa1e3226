/**
 * `npm start`. In development no setting is needed: the dev IdP runs in this process, with this
 * app registered. With NODE_ENV=production every setting of .env.example is required.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createMemoryStore } from 'koa-oidc-bff/stores/memory';
import { createApp } from './app.ts';

if (existsSync('.env')) process.loadEnvFile();
const env = process.env;
const production = env.NODE_ENV === 'production';
const missing = ['BASE_URL', 'ISSUER_BASE_URL', 'CLIENT_ID', 'CLIENT_SECRET', 'SESSION_SECRET'].filter((name) => !env[name]);
if (production && missing.length > 0) {
  console.error(`Required when NODE_ENV=production (see .env.example):\n${missing.map((name) => `  - ${name}`).join('\n')}`);
  process.exit(1);
}

const port = Number(env.PORT || 3000);
const baseUrl = env.BASE_URL || `http://localhost:${port}`;
const client = { clientId: env.CLIENT_ID || 'dev-app', clientSecret: env.CLIENT_SECRET || 'dev-only-client-secret' };
let issuer = env.ISSUER_BASE_URL;
if (!issuer) {
  // Development: the dev IdP in this process (never loaded in production, see above).
  const { startDevIdp } = await import('koa-oidc-bff-dev-idp');
  const idp = await startDevIdp({ port: Number(env.DEV_IDP_PORT || 4000), apiPort: false, clients: [{ ...client, baseUrl }], logger: () => {} });
  issuer = idp.issuer;
  console.log(`App: ${baseUrl} · Dev IdP: ${issuer} · log in as alice / alice-password`);
}

const { app } = createApp({
  issuer, baseUrl, ...client,
  // Development: a new key at every start. Production: SESSION_SECRET, e.g. openssl rand -base64 48.
  secrets: env.SESSION_SECRET || randomBytes(32).toString('base64url'),
  // Sessions in memory while developing; in production pass a shared store (koa-oidc-bff/stores/sqlite
  // or /redis): without one the package refuses to start on a public BASE_URL.
  store: production ? undefined : createMemoryStore(),
  logger: { debug() {}, info() {}, warn: (fields, message) => console.warn(message, fields), error: (fields, message) => console.error(message, fields) },
});
const server = app.listen(port, () => console.log(`Listening on ${baseUrl}`));
// Ctrl-C or SIGTERM: stop accepting, end idle keep-alive connections, exit once the rest are done.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
  });
}
