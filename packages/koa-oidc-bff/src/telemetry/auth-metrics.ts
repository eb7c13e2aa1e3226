/**
 * Counts auth events (events.ts) into the package's metrics: the events are the one source of
 * truth for what happened, so a metric never disagrees with the log line of the same event.
 * Label values come from closed sets; an unknown reason code is counted as `other`.
 */
import type { Attributes } from '@opentelemetry/api';
import { AUTH_EVENTS, type AuthEventPayload, type AuthEvents, type CsrfCheck } from '../events.ts';
import { LOGIN_FAILURES } from '../oidc/oidc-errors.ts';
import type { Telemetry } from './telemetry.ts';

/** Reasons a login fails that are not LoginErrors (GET /login before discovery, unexpected errors). */
const OTHER_LOGIN_REASONS = ['ERR_IDP_UNAVAILABLE', 'ERR_SESSION_STORE_UNAVAILABLE', 'ERR_INTERNAL'];
const CSRF_CHECKS: readonly CsrfCheck[] = ['api_header', 'origin', 'token', 'fetch_metadata'];
const FAILURE = Object.freeze({ outcome: 'failure' });

/** Attribute objects made once: recording a metric allocates no label set. */
function attrs<K extends string>(key: string, values: readonly K[]): Map<string, Attributes> {
  return new Map(values.map((v) => [v, Object.freeze({ [key]: v })]));
}

/** Subscribes the metrics to `events`; returns the function that unsubscribes. */
export function countAuthEvents(events: AuthEvents, t: Telemetry): () => void {
  const failureReasons = new Map<string, Attributes>(
    [...Object.keys(LOGIN_FAILURES), ...OTHER_LOGIN_REASONS, 'other'].map((r) => [r, Object.freeze({ outcome: 'failure', reason: r })]),
  );
  const success = Object.freeze({ outcome: 'success' });
  const refresh = attrs('outcome', ['refreshed', 'coalesced', 'grant_gone', 'unavailable'] as const);
  const logout = attrs('kind', ['rp_initiated', 'backchannel', 'ended_by_user', 'expired'] as const);
  const csrf = attrs('check', CSRF_CHECKS);
  const seconds = (e: AuthEventPayload) => (e.durationMs ?? 0) / 1000;

  const listener = (e: AuthEventPayload): void => {
    switch (e.event) {
      case AUTH_EVENTS.loginStarted:
        t.loginsStarted.add(1);
        break;
      case AUTH_EVENTS.loginSucceeded:
        t.loginsCompleted.add(1, success);
        if (e.durationMs !== undefined) t.callbackDuration.record(seconds(e), success);
        break;
      case AUTH_EVENTS.loginFailed: {
        const labels = failureReasons.get(e.reason ?? 'other') ?? failureReasons.get('other')!;
        t.loginsCompleted.add(1, labels);
        if (e.durationMs !== undefined) t.callbackDuration.record(seconds(e), FAILURE);
        break;
      }
      case AUTH_EVENTS.tokenRefreshed:
        t.refreshes.add(1, refresh.get('refreshed'));
        if (e.durationMs !== undefined) t.refreshDuration.record(seconds(e), refresh.get('refreshed'));
        break;
      case AUTH_EVENTS.refreshFailed: {
        const labels = refresh.get(e.reason === 'ERR_TOKEN_REFRESH_GRANT_GONE' ? 'grant_gone' : 'unavailable');
        t.refreshes.add(1, labels);
        if (e.durationMs !== undefined) t.refreshDuration.record(seconds(e), labels);
        break;
      }
      case AUTH_EVENTS.tokenRefreshCoalesced:
        t.refreshes.add(1, refresh.get('coalesced'));
        break;
      case AUTH_EVENTS.logout:
        t.logouts.add(1, logout.get('rp_initiated'));
        break;
      case AUTH_EVENTS.backchannelLogout:
        // Sessions ended: a logout token may end several (or none: the user never logged in here).
        if (e.count) t.logouts.add(e.count, logout.get('backchannel'));
        break;
      case AUTH_EVENTS.sessionEndedByUser:
        t.logouts.add(1, logout.get('ended_by_user'));
        break;
      case AUTH_EVENTS.otherSessionsEnded:
        if (e.count) t.logouts.add(e.count, logout.get('ended_by_user'));
        break;
      case AUTH_EVENTS.sessionExpired:
        t.logouts.add(1, logout.get('expired'));
        break;
      case AUTH_EVENTS.csrfRejected: {
        const labels = e.check ? csrf.get(e.check) : undefined;
        if (labels) t.csrfRejections.add(1, labels);
        break;
      }
    }
  };
  return events.on('*', listener);
}
