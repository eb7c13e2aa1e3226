/**
 * A deliberately misbehaving OpenID Provider for tests: its own discovery document, JWKS (jose
 * keys), an authorization endpoint that answers at once with an auto-submitting form_post to the
 * app's /callback (no login UI), and a token endpoint (client_secret_basic, PKCE S256, single-use
 * codes). Each test sets a {@link Scenario} that makes it issue one kind of bad response; the
 * default scenario issues valid responses, so the harness itself is proven to pass good logins.
 *
 * Test code only: it exists to attack the app's callback, never to be a real IdP.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type CryptoKey } from 'jose';

/** What the IdP does wrong (or right) for the next logins. Every field is optional. */
export interface Scenario {
  /**
   * ID token claims merged over the valid ones; a value of `undefined` removes the claim
   * (e.g. `{ sub: undefined }`, `{ nonce: 'wrong' }`, `{ aud: ['other', CLIENT] }`).
   */
  claims?: Record<string, unknown>;
  /** Seconds added to the IdP's clock for `iat`, `exp` and `auth_time` (positive: the IdP runs ahead). */
  clockOffset?: number;
  /** Lifetime of the ID token, seconds. Default 300. */
  idTokenTtl?: number;
  /**
   * How the ID token is signed: `valid`; `bad-signature` (published kid, other private key);
   * `none` (alg none, empty signature); `unpublished-key` (a kid the JWKS never contains).
   */
  signing?: 'valid' | 'bad-signature' | 'none' | 'unpublished-key';
  /** The authorization endpoint answers with this OAuth `error` instead of a code or ID token. */
  authorizationError?: string;
  /** The token endpoint answers this instead of tokens (a JSON body, or a string sent as HTML). */
  tokenResponse?: { status: number; body: unknown };
  /** The RFC 9207 `iss` response parameter: another value, or `null` to leave it out. */
  issParameter?: string | null;
  /** The token endpoint drops the connection without answering (an outage). */
  dropTokenConnection?: boolean;
  /** The PAR endpoint (RFC 9126 2.3) answers this instead of a request_uri. */
  parResponse?: { status: number; body: unknown };
  /** Lifetime in seconds of pushed requests; 0: the request_uri has expired by the time the browser brings it (answered `invalid_request_uri`). Default 60. */
  parExpiresIn?: number;
}

export interface EvilIdpOptions {
  clientId: string;
  clientSecret: string;
  /** The app's redirect URI (BASE_URL/callback); the only one accepted. */
  redirectUri: string;
  /** Hostname in the issuer: 127.0.0.1 (default; another site than the app on localhost) or localhost. */
  host?: 'localhost' | '127.0.0.1';
  /** Advertise `authorization_response_iss_parameter_supported` and send `iss` (RFC 9207). Default true. */
  issParameterSupported?: boolean;
  /** Values of `id_token_signing_alg_values_supported`. Default ['RS256', 'none'] (as permissive as the spec lets an IdP be). */
  signingAlgs?: string[];
  /** Advertise and serve a pushed authorization request endpoint (RFC 9126), `POST /par`. Default false. */
  par?: boolean;
}

export interface EvilIdp {
  issuer: string;
  /** The scenario for logins that start from now on (mutable; tests set it before logging in). */
  scenario: Scenario;
  readonly stats: { authorizationRequests: number; tokenRequests: number; jwksRequests: number; parRequests: number };
  /** Publishes a new signing key (new kid) and signs with it from now on; the old key is withdrawn. */
  rotateKey(): Promise<void>;
  close(): Promise<void>;
}

interface SigningKey { kid: string; privateKey: CryptoKey; publicJwk: JWK }
interface PendingCode { nonce: string; codeChallenge: string; redirectUri: string; scenario: Scenario; used: boolean }

async function newKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = randomBytes(8).toString('hex');
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

// RSA key generation is slow on a busy machine: every evil IdP of a test process starts with the
// same two keys (each app has its own JWKS cache, so sharing them between IdPs proves nothing wrong).
let initialKeys: Promise<[SigningKey, SigningKey]> | undefined;

const b64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Starts the evil IdP on a free loopback port. */
export async function startEvilIdp(options: EvilIdpOptions): Promise<EvilIdp> {
  const host = options.host ?? '127.0.0.1';
  const issParameterSupported = options.issParameterSupported ?? true;
  initialKeys ??= Promise.all([newKey(), newKey()]);
  // strayKey signs `bad-signature` tokens under the published kid, and `unpublished-key` ones under its own.
  const [firstKey, strayKey] = await initialKeys;
  let signingKey = firstKey;
  const codes = new Map<string, PendingCode>();
  const stats = { authorizationRequests: 0, tokenRequests: 0, jwksRequests: 0, parRequests: 0 };
  // Pushed requests by request_uri; kept after they expire, so the answer can name the redirect_uri and state.
  const pushed = new Map<string, { params: URLSearchParams; expiresAt: number }>();
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const issuer = `http://${host}:${(server.address() as AddressInfo).port}`;

  const idp: EvilIdp = {
    issuer,
    scenario: {},
    stats,
    async rotateKey() {
      signingKey = await newKey();
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  async function idToken(scenario: Scenario, nonce: string): Promise<string> {
    const now = Math.floor(Date.now() / 1000) + (scenario.clockOffset ?? 0);
    const claims: Record<string, unknown> = {
      iss: issuer, sub: 'evil-sub-1', aud: options.clientId, iat: now, exp: now + (scenario.idTokenTtl ?? 300),
      auth_time: now, nonce, name: 'Eve Evil', email: 'eve@example.test',
      ...scenario.claims,
    };
    for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
    const signing = scenario.signing ?? 'valid';
    if (signing === 'none') return `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}.`;
    const key = signing === 'valid' ? signingKey.privateKey : strayKey.privateKey;
    const kid = signing === 'unpublished-key' ? strayKey.kid : signingKey.kid;
    return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' }).sign(key);
  }

  function send(res: http.ServerResponse, status: number, body: unknown, type = 'application/json'): void {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  }

  async function readBody(req: http.IncomingMessage): Promise<URLSearchParams> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
  }

  /** RFC 9126 2: client-authenticated, answers 201 `{ request_uri, expires_in }` (or the scenario's error). */
  async function par(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    stats.parRequests += 1;
    const body = await readBody(req);
    if (!clientAuthenticated(req.headers.authorization)) return send(res, 401, { error: 'invalid_client' });
    if (idp.scenario.parResponse) return send(res, idp.scenario.parResponse.status, idp.scenario.parResponse.body);
    const expiresIn = idp.scenario.parExpiresIn ?? 60;
    const requestUri = `urn:ietf:params:oauth:request_uri:${randomBytes(16).toString('base64url')}`;
    pushed.set(requestUri, { params: body, expiresAt: Date.now() + expiresIn * 1000 });
    send(res, 201, { request_uri: requestUri, expires_in: Math.max(expiresIn, 1) });
  }

  async function authorize(url: URL, res: http.ServerResponse): Promise<void> {
    stats.authorizationRequests += 1;
    let q = url.searchParams;
    const requestUri = q.get('request_uri');
    if (requestUri !== null) {
      const entry = pushed.get(requestUri);
      if (!entry || q.get('client_id') !== options.clientId) return send(res, 400, 'evil-idp: unknown request_uri', 'text/plain');
      if (entry.expiresAt <= Date.now()) {
        // RFC 9126 4: an expired request_uri is refused (the redirect_uri is known from the pushed request).
        const fields = { error: 'invalid_request_uri', error_description: 'request_uri expired', state: entry.params.get('state') ?? '', iss: issuer };
        const inputs = Object.entries(fields).map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`).join('');
        return send(res, 200, `<!doctype html><html><body><form method="post" action="${escapeHtml(options.redirectUri)}">${inputs}</form></body></html>`, 'text/html; charset=utf-8');
      }
      q = entry.params;
    }
    const responseType = q.get('response_type');
    const problems = [
      q.get('client_id') !== options.clientId && 'client_id',
      q.get('redirect_uri') !== options.redirectUri && 'redirect_uri',
      q.get('response_mode') !== 'form_post' && 'response_mode',
      responseType !== 'code' && responseType !== 'id_token' && 'response_type',
      !q.get('state') && 'state',
      !q.get('nonce') && 'nonce',
      responseType === 'code' && q.get('code_challenge_method') !== 'S256' && 'code_challenge_method',
    ].filter(Boolean);
    // A request the app should never send: fail loudly so the test sees an app bug, not an IdP scenario.
    if (problems.length > 0) return send(res, 400, `evil-idp: bad authorization request (${problems.join(', ')})`, 'text/plain');
    const scenario = structuredClone(idp.scenario);
    const fields: Record<string, string> = { state: q.get('state')! };
    if (scenario.authorizationError) {
      fields.error = scenario.authorizationError;
      fields.error_description = 'The evil IdP says no.';
    } else if (responseType === 'code') {
      const code = randomBytes(24).toString('base64url');
      codes.set(code, { nonce: q.get('nonce')!, codeChallenge: q.get('code_challenge') ?? '', redirectUri: q.get('redirect_uri')!, scenario, used: false });
      fields.code = code;
    } else {
      fields.id_token = await idToken(scenario, q.get('nonce')!);
    }
    if (scenario.issParameter !== null && (issParameterSupported || scenario.issParameter)) fields.iss = scenario.issParameter ?? issuer;
    const inputs = Object.entries(fields).map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`).join('');
    send(res, 200, `<!doctype html><html><body><form method="post" action="${escapeHtml(options.redirectUri)}">${inputs}</form><script>document.forms[0].submit()</script></body></html>`, 'text/html; charset=utf-8');
  }

  /** client_secret_basic: both parts form-urlencoded before base64 (RFC 6749 2.3.1). */
  function clientAuthenticated(header: string | undefined): boolean {
    if (!header?.startsWith('Basic ')) return false;
    const [id, secret] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':').map((p) => decodeURIComponent(p.replace(/\+/g, ' ')));
    return id === options.clientId && secret === options.clientSecret;
  }

  async function token(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    stats.tokenRequests += 1;
    const body = await readBody(req);
    if (!clientAuthenticated(req.headers.authorization)) return send(res, 401, { error: 'invalid_client' });
    const pending = codes.get(body.get('code') ?? '');
    if (body.get('grant_type') !== 'authorization_code' || !pending || pending.used || body.get('redirect_uri') !== pending.redirectUri) {
      return send(res, 400, { error: 'invalid_grant' });
    }
    pending.used = true;
    const challenge = createHash('sha256').update(body.get('code_verifier') ?? '').digest('base64url');
    if (challenge !== pending.codeChallenge) return send(res, 400, { error: 'invalid_grant', error_description: 'PKCE verification failed' });
    const { scenario } = pending;
    if (scenario.dropTokenConnection) {
      req.socket.destroy();
      return;
    }
    if (scenario.tokenResponse) {
      const { status, body: answer } = scenario.tokenResponse;
      return send(res, status, answer, typeof answer === 'string' ? 'text/html' : 'application/json');
    }
    send(res, 200, {
      access_token: randomBytes(24).toString('base64url'),
      token_type: 'Bearer',
      expires_in: 3600,
      id_token: await idToken(scenario, pending.nonce),
    });
  }

  server.on('request', (req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    const route = `${req.method} ${url.pathname}`;
    const handle = async () => {
      switch (route) {
        case 'GET /.well-known/openid-configuration':
          return send(res, 200, {
            issuer,
            authorization_endpoint: `${issuer}/authorize`,
            token_endpoint: `${issuer}/token`,
            jwks_uri: `${issuer}/jwks`,
            response_types_supported: ['code', 'id_token'],
            response_modes_supported: ['form_post'],
            subject_types_supported: ['public'],
            id_token_signing_alg_values_supported: options.signingAlgs ?? ['RS256', 'none'],
            token_endpoint_auth_methods_supported: ['client_secret_basic'],
            code_challenge_methods_supported: ['S256'],
            scopes_supported: ['openid', 'profile', 'email'],
            ...(issParameterSupported ? { authorization_response_iss_parameter_supported: true } : {}),
            ...(options.par ? { pushed_authorization_request_endpoint: `${issuer}/par` } : {}),
          });
        case 'GET /jwks':
          stats.jwksRequests += 1;
          return send(res, 200, { keys: [signingKey.publicJwk] });
        case 'GET /authorize':
          return authorize(url, res);
        case 'POST /token':
          return token(req, res);
        case 'POST /par':
          if (options.par) return par(req, res);
          return send(res, 404, { error: 'not_found' });
        default:
          return send(res, 404, { error: 'not_found' });
      }
    };
    handle().catch((err: unknown) => send(res, 500, `evil-idp crashed: ${String(err)}`, 'text/plain'));
  });

  return idp;
}
