/**
 * oidc-provider, imported with its "Unsupported runtime" notice filtered out.
 *
 * oidc-provider 9 warns at import time on anything older than Node 22, but works on
 * Node >= 20.18 (checked on this project's Node 20). The line is noise in every test run, so
 * only that one line is dropped, and console.warn is restored as soon as the import is done.
 */
import type * as OidcProviderModule from 'oidc-provider';

async function importQuietly(): Promise<typeof OidcProviderModule> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].includes('Unsupported runtime')) return;
    warn(...args);
  };
  try {
    return await import('oidc-provider');
  } finally {
    console.warn = warn;
  }
}

const oidc = await importQuietly();

export const Provider = oidc.default;
export const errors = oidc.errors;
export const interactionPolicy = oidc.interactionPolicy;
