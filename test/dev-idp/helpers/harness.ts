import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevIdp, type Account, type DevIdp, type DevIdpOptions } from '../../../dev-idp/index.ts';

export const CLIENT = { clientId: 'test-app', clientSecret: 'test-secret-for-dev-idp-tests', baseUrl: 'http://localhost:3999' };

/** Accounts with nasty fixtures: HTML in a name, a custom claim, a nested claim. */
export const TEST_ACCOUNTS: Account[] = [
  {
    username: 'alice',
    password: 'alice-password',
    claims: { sub: 'alice-sub', name: 'Alice Test', email: 'alice@example.test', email_verified: true, department: 'R&D', roles: ['admin'] },
  },
  {
    username: 'html',
    password: 'html-password',
    claims: { sub: 'html-sub', name: '<img src=x onerror=alert(1)>', email: 'html@example.test' },
  },
];

/** A temporary directory, removed by the returned cleanup. */
export async function tempDir(prefix = 'dev-idp-test-'): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export interface TestIdp extends DevIdp {
  dataDir: string;
  logLines: string[];
  /** Closes the IdP and removes its temp dir. */
  stop(): Promise<void>;
}

/**
 * Starts a dev-idp on free ports with the test accounts (written to a temp JSON file, so the
 * file path is exercised) and a temp dataDir. Options override the defaults.
 */
export async function startTestIdp(options: Partial<DevIdpOptions> = {}): Promise<TestIdp> {
  const dir = await tempDir();
  const accountsPath = join(dir.path, 'accounts.json');
  await writeFile(accountsPath, JSON.stringify(TEST_ACCOUNTS));
  const logLines: string[] = [];
  const idp = await startDevIdp({
    port: 0,
    apiPort: 0,
    accounts: accountsPath,
    clients: [CLIENT],
    dataDir: join(dir.path, 'data'),
    logger: (line) => logLines.push(line),
    ...options,
  });
  return Object.assign(idp, {
    dataDir: options.dataDir ?? join(dir.path, 'data'),
    logLines,
    stop: async () => {
      await idp.close();
      await dir.remove();
    },
  });
}
