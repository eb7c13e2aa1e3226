import type { KoaContextWithOIDC } from 'oidc-provider';

/** OIDC scopes every registered (first-party) client gets without a consent screen. */
export const FIRST_PARTY_SCOPES = ['openid', 'profile', 'email', 'offline_access'];

type Grant = InstanceType<KoaContextWithOIDC['oidc']['provider']['Grant']>;

/**
 * `loadExistingGrant` for first-party clients: every client registered with the dev-idp is the
 * team's own app, so consent is implied and no consent prompt is ever shown. Loads the
 * session's grant for the client (or the one a consent interaction produced), else creates one;
 * then makes sure it holds the OIDC scopes, every account claim and every scope of the requested
 * resource servers (RFC 8707), and saves it.
 * Input: the authorization request context (a logged-in session) and the claim names to allow.
 * Output: the saved Grant. Without a session it returns undefined, like the default.
 */
export async function loadFirstPartyGrant(ctx: KoaContextWithOIDC, claimNames: readonly string[]): Promise<Grant | undefined> {
  const { oidc } = ctx;
  const client = oidc.client;
  const accountId = oidc.session?.accountId;
  if (!client || !accountId) return undefined;
  const grantId = oidc.result?.consent?.grantId ?? oidc.session?.grantIdFor(client.clientId);
  const existing = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
  const grant = existing ?? new oidc.provider.Grant({ accountId, clientId: client.clientId });
  grant.addOIDCScope(FIRST_PARTY_SCOPES);
  grant.addOIDCClaims([...claimNames]);
  for (const [indicator, resourceServer] of Object.entries(oidc.resourceServers ?? {})) {
    if (resourceServer.scope) grant.addResourceScope(indicator, resourceServer.scope);
  }
  await grant.save();
  return grant;
}
