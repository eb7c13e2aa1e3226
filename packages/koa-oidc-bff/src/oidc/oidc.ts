/**
 * The relying party's view of the IdP: discovery (OIDC Discovery 1.0) loaded in the background
 * with retry and backoff, so the app starts and serves logged-in users while the IdP is down.
 */
import * as client from 'openid-client';
import { UnavailableError } from '../errors.ts';
import { endpointNamer, type IdpEndpoint } from '../telemetry/idp-fetch.ts';
import { JwksCache } from './jwks-cache.ts';

export interface OidcOptions {
  issuer: URL;
  clientId: string;
  clientSecret: string;
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
  /**
   * Wraps the fetch of every IdP request (telemetry), given a function naming a request URL by
   * its endpoint. Undefined: openid-client's own fetch.
   */
  instrumentFetch?: ((nameOf: (url: string) => IdpEndpoint) => client.CustomFetch) | undefined;
}

export interface OidcClient {
  /** The discovered configuration; throws {@link UnavailableError} (`ERR_IDP_UNAVAILABLE`) while discovery has not succeeded. */
  configuration(): client.Configuration;
  /**
   * A new configuration for validating one callback: ID token signatures are always verified
   * (also for the code flow, where openid-client would otherwise rely on TLS, OIDC Core 3.1.3.7
   * step 6), against the shared JWKS cache, which is refetched when the token's `kid` is unknown
   * (see jwks-cache.ts).
   * @param idTokenKid the `kid` of the ID token, when already known (id_token response type).
   * @throws {UnavailableError} like {@link configuration}.
   */
  callbackConfiguration(idTokenKid?: string): client.Configuration;
  /** True once discovery succeeded. */
  readonly ready: boolean;
  /** Resolves when discovery succeeds (for tests and startup logs); never rejects. */
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
  let resolveReady!: () => void;
  const jwks = new JwksCache();
  const readyPromise = new Promise<void>((resolve) => (resolveReady = resolve));
  const instrument = options.instrumentFetch;
  const discoveryFetch = instrument?.(() => 'discovery');
  // Requests of a discovered configuration, named by its metadata (made once per discovery).
  let idpFetch: client.CustomFetch | undefined;

  async function attempt(delay: number): Promise<void> {
    if (closed) return;
    try {
      const discovered = await client.discovery(
        options.issuer,
        options.clientId,
        { client_secret: options.clientSecret, [client.clockTolerance]: options.clockTolerance },
        client.ClientSecretBasic(options.clientSecret),
        {
          timeout: options.timeout,
          ...(options.allowInsecureIssuer ? { execute: [client.allowInsecureRequests] } : {}),
          ...(discoveryFetch ? { [client.customFetch]: discoveryFetch } : {}),
        },
      );
      discovered.timeout = options.timeout;
      if (instrument) discovered[client.customFetch] = idpFetch = instrument(endpointNamer(discovered.serverMetadata()));
      if (options.responseType === 'id_token') client.useIdTokenResponseType(discovered);
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
    if (!config) throw new UnavailableError('ERR_IDP_UNAVAILABLE', 'The identity provider cannot be reached. Please try again in a moment.');
    return config;
  }

  return {
    configuration,
    callbackConfiguration(idTokenKid) {
      const server = configuration().serverMetadata();
      const fresh = new client.Configuration(
        server,
        options.clientId,
        { client_secret: options.clientSecret, [client.clockTolerance]: options.clockTolerance },
        client.ClientSecretBasic(options.clientSecret),
      );
      fresh.timeout = options.timeout;
      if (options.allowInsecureIssuer) client.allowInsecureRequests(fresh);
      if (options.responseType === 'id_token') client.useIdTokenResponseType(fresh);
      else client.enableNonRepudiationChecks(fresh);
      fresh[client.customFetch] = jwks.fetchFor(fresh, { jwksUri: server.jwks_uri, tokenEndpoint: server.token_endpoint }, idpFetch);
      jwks.seed(fresh, idTokenKid);
      return fresh;
    },
    get ready() {
      return config !== undefined;
    },
    whenReady: () => readyPromise,
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
    },
  };
}
