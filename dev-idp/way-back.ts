/**
 * The way back into an app from a dev-idp page that has nothing left to do: Back after a login
 * lands on a finished interaction ("interaction session not found"), and the signed-out page ends
 * a logout. A user should land in the app (its registered home: the first post-logout redirect
 * URI), not on a protocol error.
 */
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Provider } from './oidc-provider-module.ts';

type ProviderInstance = InstanceType<typeof Provider>;

export interface AppHome {
  name: string;
  home: string;
}

/** Interaction uid → client id, for the interactions this process showed (bounded, oldest dropped first). */
const interactionClients = new Map<string, string>();
const MAX_REMEMBERED = 5000;
/** Each provider's registered apps with a home, in registration order. */
const homesByProvider = new WeakMap<ProviderInstance, AppHome[]>();

/** Records the registered apps of `provider` (name and home page), from their client metadata. */
export function registerHomes(provider: ProviderInstance, clients: Array<{ client_name?: string | undefined; client_id: string; post_logout_redirect_uris?: readonly string[] | undefined }>): void {
  homesByProvider.set(provider, clients.flatMap((c) => {
    const home = c.post_logout_redirect_uris?.[0];
    return home ? [{ name: c.client_name ?? c.client_id, home }] : [];
  }));
}

/** Remembers which client interaction `uid` belongs to (its login page was shown). */
export function rememberInteraction(uid: string, clientId: string): void {
  interactionClients.delete(uid);
  interactionClients.set(uid, clientId);
  if (interactionClients.size > MAX_REMEMBERED) interactionClients.delete(interactionClients.keys().next().value!);
}

/** The home of the client of interaction `uid`, when this process showed it and the client has one. */
export async function homeOfInteraction(provider: ProviderInstance, uid: string): Promise<AppHome | undefined> {
  const clientId = interactionClients.get(uid);
  return clientId ? homeOfClient(provider, clientId) : undefined;
}

/** The registered home of `clientId`, if any. */
export async function homeOfClient(provider: ProviderInstance, clientId: string): Promise<AppHome | undefined> {
  const client = await provider.Client.find(clientId);
  const home = client?.postLogoutRedirectUris?.[0];
  return client && home ? { name: client.clientName ?? clientId, home } : undefined;
}

/** Every registered app with a home, for a page that cannot tell which app the user came from. */
export function allHomes(provider: ProviderInstance): AppHome[] {
  return homesByProvider.get(provider) ?? [];
}

/** The interaction uid named by a dev-idp path (`/interaction/<uid>...` or the resume endpoint `/auth/<uid>`). */
export function interactionUidOf(ctx: Pick<KoaContextWithOIDC, 'path'>): string | undefined {
  return /^\/(?:interaction|auth)\/([A-Za-z0-9_-]{1,128})(?:\/|$)/.exec(ctx.path)?.[1];
}
