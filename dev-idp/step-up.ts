/**
 * Step-up authentication at the dev-idp (OIDC Core 2 `acr`, 3.1.2.1 `acr_values`, RFC 9470):
 * a password alone gives {@link ACR_PASSWORD}; a client asking for {@link ACR_MFA} in
 * `acr_values` gets a second step after the password, a one-time code shown on its own page
 * (enough for a development tool: it proves the flow, not a real second factor).
 */
import { randomInt } from 'node:crypto';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { interactionPolicy } from './oidc-provider-module.ts';

/** `acr` of a login by password only. */
export const ACR_PASSWORD = 'urn:dev-idp:acr:pwd';
/** `acr` of a login by password and one-time code (the value to ask for in `acr_values`). */
export const ACR_MFA = 'urn:dev-idp:acr:mfa';
/** Advertised as `acr_values_supported` (OIDC Discovery 3). */
export const ACR_VALUES = [ACR_PASSWORD, ACR_MFA];

/** True when the authorization request asks for the second factor (`acr_values` lists ACR_MFA). */
export function wantsMfa(acrValues: unknown): boolean {
  return typeof acrValues === 'string' && acrValues.split(' ').includes(ACR_MFA);
}

/**
 * The interaction policy: oidc-provider's default, plus a login check that asks for a new login
 * when `acr_values` asks for ACR_MFA and the IdP session was not authenticated with it
 * (`acr_values` is voluntary in OIDC Core, so the default policy would not prompt).
 */
export function stepUpPolicy(): ReturnType<typeof interactionPolicy.base> {
  const policy = interactionPolicy.base();
  policy.get('login')!.checks.add(new interactionPolicy.Check('acr_step_up', 'a second factor is required', (ctx: KoaContextWithOIDC) => {
    const { oidc } = ctx;
    return wantsMfa(oidc.params?.acr_values) && oidc.acr !== ACR_MFA ? interactionPolicy.Check.REQUEST_PROMPT : interactionPolicy.Check.NO_NEED_TO_PROMPT;
  }));
  return policy;
}

/** Pending second steps: one code per interaction, single use, 5 minutes. */
export class OneTimeCodes {
  readonly #pending = new Map<string, { accountId: string; code: string; expiresAt: number }>();

  /** Starts the second step of interaction `uid` for `accountId`; returns the 6-digit code to show. */
  issue(uid: string, accountId: string): string {
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    this.#pending.set(uid, { accountId, code, expiresAt: Date.now() + 5 * 60_000 });
    return code;
  }

  /** The pending step of `uid` (code and account), or undefined. */
  peek(uid: string): { accountId: string; code: string } | undefined {
    const entry = this.#pending.get(uid);
    if (!entry || entry.expiresAt < Date.now()) return undefined;
    return entry;
  }

  /** The account when `code` is right (the step is then used up), else undefined. */
  redeem(uid: string, code: string): string | undefined {
    const entry = this.peek(uid);
    if (!entry || entry.code !== code) return undefined;
    this.#pending.delete(uid);
    return entry.accountId;
  }
}
