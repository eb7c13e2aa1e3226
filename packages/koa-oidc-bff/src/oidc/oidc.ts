/**
 * The relying party's view of the IdP: discovery (OIDC Discovery 1.0) loaded in the background
 * with retry and backoff, so the app starts and serves logged-in users while the IdP is down.
 */
import * as client from 'openid-client';
import { UnavailableError } from '../errors.ts';
import { clientAuthentication, type ClientCredentials } from './client-auth.ts';
import { endpointNamer, type IdpEndpoint } from '../telemetry/idp-fetch.ts';
import { JwksCache, type JwksCacheOptions, type JwksUnavailableError } from './jwks-cache.ts';

export interface OidcOptions {
  issuer: URL;
  clientId: string;
  /** How the client authenticates at the IdP (see client-auth.ts). */
  credentials: ClientCredentials;
  /** Pushed authorization requests (RFC 9126): with 'always', an IdP without the endpoint is unsuitable. */
  pushedAuthorizationRequests: 'auto' | 'always' | 'never';
  /** DPoP (RFC 9449) is on: an IdP that does not advertise it is unsuitable. */
  dpop: boolean;
  responseType: 'code' | 'id_token';
  /** Accept an http:// issuer (development on loopback only; the config enforces that). */
  allowInsecureIssuer: boolean;
  /** Seconds allowed between the app's and the IdP's clocks. */
  clockTolerance: number;
  /** Seconds before any IdP HTTP request is abandoned. */
  timeout: number;
  /** Called on each failed discovery attempt, with the delay in ms before the next one. */
  onDiscoveryError?: (err: unknown, retryInMs: number) => void;
  onDiscovered?: () => void;
  /** Clock in ms since the epoch (ages the JWKS). Default Date.now. */
  now?: () => number;
  /** Told of each JWKS download and failed download (see jwks-cache.ts). */
  onJwksFetch?: JwksCacheOptions['onFetch'];
  /** Called once when the IdP's metadata cannot serve the options (discovery then stops). */
  onUnsuitable?: (err: Error) => void;
  /**
   * Wraps the fetch of every IdP request (telemetry), given a function naming a request URL by
   * its endpoint and whether the requests are `background` ones (discovery and key set
   * downloads, which no single request owns: they may start a trace of their own) or made for a
   * request (the token, PAR and revocation calls of the discovered configuration: traced only as
   * children of a recorded span). Undefined: openid-client's own fetch.
   */
  instrumentFetch?: ((nameOf: (url: string) => IdpEndpoint, background: boolean) => client.CustomFetch) | undefined;
}

export interface OidcClient {
  /** The discovered configuration; throws {@link UnavailableError} (`ERR_IDP_UNAVAILABLE`) while discovery has not succeeded. */
  configuration(): client.Configuration;
  /**
   * A new configuration for validating one callback: ID token signatures are always verified
   * (also for the code flow, where openid-client would otherwise rely on TLS, OIDC Core 3.1.3.7
   * step 6), against the shared JWKS cache (at most 5 minutes old, refetched when the token's
   * `kid` is unknown, within bounds: see jwks-cache.ts).
   * @param idTokenKid the `kid` of the ID token, when already known (id_token response type).
   * @throws {UnavailableError} like {@link configuration}; {@link JwksUnavailableError} when the
   *   key set cannot be downloaded.
   */
  callbackConfiguration(idTokenKid?: string): Promise<client.Configuration>;
  /** The JWKS failure met while `config`'s token response was read (its ID token could not be checked), if any. */
  jwksFailure(config: client.Configuration): JwksUnavailableError | undefined;
  /** The issuer's signing keys, shared with back-channel logout (see jwks-cache.ts). */
  readonly jwks: JwksCache;
  /** True once discovery succeeded. */
  readonly ready: boolean;
  /** True when authorization requests are pushed (RFC 9126): 'always', or 'auto' with an advertised endpoint. */
  readonly usePar: boolean;
  /**
   * Resolves when discovery succeeds (for tests and startup logs). Rejects only when the IdP's
   * metadata cannot serve the options (`pushedAuthorizationRequests: 'always'` without a PAR
   * endpoint, `dpop` without DPoP support): a configuration error, not retried.
   */
  whenReady(): Promise<void>;
  /** Stops background retries. */
  close(): void;
}

const MAX_BACKOFF_MS = 30_000;

/** Starts discovery at once and keeps retrying (250 ms doubling to 30 s) until it succeeds. */
export function createOidcClient(options: OidcOptions): OidcClient {
  let config: client.Configuration | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let auth: { auth: client.ClientAuth; metadata: Partial<client.ClientMetadata> } | undefined;
  let unsuitable: Error | undefined;
  let resolveReady!: () => void;
  let rejectReady!: (err: Error) => void;
  const readyPromise = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  // Nobody has to listen: the rejection is also logged and answered (503) by configuration().
  readyPromise.catch(() => undefined);
  const instrument = options.instrumentFetch;
  // JWKS downloads (for ID tokens and Logout Tokens alike) are IdP requests named `jwks`.
  const jwksFetch = instrument?.(() => 'jwks', true);
  const jwks = new JwksCache({
    clock: options.now ?? Date.now,
    timeoutMs: options.timeout * 1000,
    allowHttp: options.allowInsecureIssuer,
    ...(options.onJwksFetch ? { onFetch: options.onJwksFetch } : {}),
    ...(jwksFetch ? { fetch: jwksFetch } : {}),
  });
  const discoveryFetch = instrument?.(() => 'discovery', true);
  // Requests of a discovered configuration, named by its metadata (made once per discovery).
  let idpFetch: client.CustomFetch | undefined;

  async function attempt(delay: number): Promise<void> {
    if (closed) return;
    try {
      auth ??= await clientAuthentication(options.credentials);
      const discovered = await client.discovery(
        options.issuer,
        options.clientId,
        { ...auth.metadata, [client.clockTolerance]: options.clockTolerance },
        auth.auth,
        {
          timeout: options.timeout,
          ...(options.allowInsecureIssuer ? { execute: [client.allowInsecureRequests] } : {}),
          ...(discoveryFetch ? { [client.customFetch]: discoveryFetch } : {}),
        },
      );
      discovered.timeout = options.timeout;
      if (instrument) discovered[client.customFetch] = idpFetch = instrument(endpointNamer(discovered.serverMetadata()), false);
      if (options.responseType === 'id_token') client.useIdTokenResponseType(discovered);
      const problem = unsuitability(discovered.serverMetadata(), options);
      if (problem) {
        unsuitable = new Error(problem);
        options.onUnsuitable?.(unsuitable);
        rejectReady(unsuitable);
        return;
      }
      config = discovered;
      options.onDiscovered?.();
      resolveReady();
    } catch (err) {
      const next = Math.min(delay * 2, MAX_BACKOFF_MS);
      options.onDiscoveryError?.(err, delay);
      if (!closed) {
        timer = setTimeout(() => void attempt(next), delay);
        timer.unref();
      }
    }
  }
  void attempt(250);

  function configuration(): client.Configuration {
    if (unsuitable) throw new UnavailableError('ERR_IDP_UNSUITABLE', 'Login is not available: the identity provider does not support what this site requires.', { detail: unsuitable.message });
    if (!config) throw new UnavailableError('ERR_IDP_UNAVAILABLE', 'The identity provider cannot be reached. Please try again in a moment.');
    return config;
  }

  return {
    configuration,
    async callbackConfiguration(idTokenKid) {
      const server = configuration().serverMetadata();
      const fresh = new client.Configuration(
        server,
        options.clientId,
        { ...auth!.metadata, [client.clockTolerance]: options.clockTolerance },
        auth!.auth,
      );
      fresh.timeout = options.timeout;
      if (options.allowInsecureIssuer) client.allowInsecureRequests(fresh);
      if (options.responseType === 'id_token') client.useIdTokenResponseType(fresh);
      else client.enableNonRepudiationChecks(fresh);
      await jwks.prepare(fresh, { jwksUri: server.jwks_uri, tokenEndpoint: server.token_endpoint }, idTokenKid, idpFetch);
      return fresh;
    },
    jwksFailure: (config) => jwks.failureOf(config),
    jwks,
    get ready() {
      return config !== undefined;
    },
    get usePar() {
      return options.pushedAuthorizationRequests === 'always'
        || (options.pushedAuthorizationRequests === 'auto' && config?.serverMetadata().pushed_authorization_request_endpoint !== undefined);
    },
    whenReady: () => readyPromise,
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
    },
  };
}

/** Why the discovered IdP cannot serve the options (RFC 9126 5, RFC 9449 5.1), or undefined. */
function unsuitability(server: client.ServerMetadata, options: Pick<OidcOptions, 'pushedAuthorizationRequests' | 'dpop'>): string | undefined {
  if (options.pushedAuthorizationRequests === 'always' && !server.pushed_authorization_request_endpoint) {
    return "pushedAuthorizationRequests is 'always' but the IdP's discovery has no pushed_authorization_request_endpoint";
  }
  if (options.dpop && !Array.isArray(server.dpop_signing_alg_values_supported)) {
    return "dpop is on but the IdP's discovery has no dpop_signing_alg_values_supported";
  }
  return undefined;
}
