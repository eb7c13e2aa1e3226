import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Eta } from 'eta';
import { PACKAGE_ROOT } from './package-root.ts';

// autoEscape: every `<%= %>` is HTML-escaped; the only raw outputs (`<%~ %>`) are the layout
// body, oidc-provider's own logout <form>, and the constant script below.
// views/ sits in the package root, beside package.json, for the sources and dist/ alike.
const eta = new Eta({
  views: join(PACKAGE_ROOT, 'views'),
  autoEscape: true,
  cache: true,
});

/** Submits the end-session confirmation form when the request carried a valid id_token_hint. */
const LOGOUT_AUTO_SUBMIT = "document.getElementById('op.logoutForm').submit();";

/**
 * The test accounts' "Use" buttons fill the sign-in form (and focus "Sign in") instead of
 * submitting their own fallback form, which still signs in where scripts do not run.
 */
const USE_ACCOUNT = "document.querySelectorAll('button[data-use]').forEach(function (b) { b.addEventListener('click', function (e) { e.preventDefault(); document.getElementById('username').value = b.getAttribute('data-username'); document.getElementById('password').value = b.getAttribute('data-password'); document.getElementById('sign-in').focus(); }); });";

/** CSP source expressions for the inline scripts these views emit (CSP3 'hash-source'). */
export const inlineScriptSources = [LOGOUT_AUTO_SUBMIT, USE_ACCOUNT].map((script) => `'sha256-${createHash('sha256').update(script).digest('base64')}'`);

/** Data of the login page; every string is escaped on output. */
export interface LoginPage {
  clientName: string;
  loginAction: string;
  abortAction: string;
  username?: string | undefined;
  error?: string | undefined;
  accounts: Array<{ username: string; password: string; name: string }>;
}

/** Renders the login page (HTML string). */
export function renderLogin(page: LoginPage): string {
  return eta.render('./login', { username: '', ...page, script: USE_ACCOUNT });
}

/** Renders the second-step page: the one-time code (shown, development only) and the form to type it. */
export function renderOtp(page: { clientName: string; code: string; action: string; abortAction: string; error?: string | undefined }): string {
  return eta.render('./otp', page);
}

/**
 * Renders the RP-initiated logout page around oidc-provider's confirmation `form` (trusted HTML
 * with id "op.logoutForm"). With `autoSubmit` it posts `logout=yes` itself (one inline script,
 * allowed by hash in the CSP); otherwise the user chooses.
 */
export function renderLogout(data: { form: string; autoSubmit: boolean; clientName?: string | undefined }): string {
  return eta.render('./logout', { ...data, script: LOGOUT_AUTO_SUBMIT });
}

/** An app's name and home page, for "Back to <app>" links. */
export interface HomeLink {
  name: string;
  home: string;
}

/** Renders the page shown after logout when the app gave no post_logout_redirect_uri, with links back to the app(s). */
export function renderLoggedOut(data: { clientName?: string | undefined; homes: HomeLink[] }): string {
  return eta.render('./logged-out', data);
}

/** Renders an error page from public values only (an OAuth error code and its description), with optional links back to apps. */
export function renderError(data: { error: string; description?: string | undefined; title?: string; homes?: HomeLink[] }): string {
  return eta.render('./error', { title: 'Error', homes: [], ...data });
}
