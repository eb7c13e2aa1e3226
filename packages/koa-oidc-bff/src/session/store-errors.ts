/**
 * Store failures as the app answers them: a backend that cannot be reached (Redis down, SQLite
 * file locked or unreadable) becomes a 503 `ERR_SESSION_STORE_UNAVAILABLE`, never a 500 with a
 * driver message, wherever in a request it happens (login, logout, an API call).
 */
import { UnavailableError } from '../errors.ts';

/** The one error a store rejects with when its backend fails. The driver error is kept as `cause` for the log. */
export class StoreUnavailableError extends UnavailableError {
  /**
   * @param kind the store (`sqlite`, `redis`).
   * @param cause the driver's error.
   */
  constructor(kind: string, cause: unknown) {
    super('ERR_SESSION_STORE_UNAVAILABLE', 'Sessions are temporarily unavailable. Please try again in a moment.', {
      detail: `${kind} store: ${cause instanceof Error ? cause.message : String(cause)}`,
      cause,
    });
  }
}

/**
 * Runs `operation`, turning any failure into a {@link StoreUnavailableError}.
 * @returns what `operation` returns.
 */
export async function guarded<T>(kind: string, operation: () => T | Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    throw err instanceof StoreUnavailableError ? err : new StoreUnavailableError(kind, err);
  }
}
