/**
 * Synthetic sessions for the store-scale and memory phases: copies of a real login's session (same
 * hot record and token record, same sizes) under deterministic ids, so the server can fill a store with a million
 * of them and later pick random ones to look up without keeping a million ids in memory.
 */
import { createHash } from 'node:crypto';
import type { SessionRecord, SessionStore } from 'koa-oidc-bff';

/** A session's token record, as `store.create` takes it (the package exports no name for it). */
export type TokenRecord = NonNullable<Parameters<SessionStore['create']>[1]>;

/** A real login's session to copy: its hot record (`store.get`) and its token record (`store.getTokens`). */
export interface SessionTemplate {
  record: SessionRecord;
  /** Undefined when the store has no token record for it. */
  tokens: TokenRecord | undefined;
}

let tagOf: ((sub: string) => string) | undefined;

/**
 * Makes every synthetic id carry its user's slot tag (`T.<32 characters>`), as the ids of a store
 * that places sessions by user (`store.newId`, the Redis Cluster store) do. Called once by the server.
 */
export function useTaggedIds(tag: (sub: string) => string): void {
  tagOf = tag;
}

/** The id of synthetic session `i`: 32 base64url characters, like a real id (192 bits), after its user's tag when {@link useTaggedIds} was called. */
export function syntheticId(i: number): string {
  const random = createHash('sha256').update(`bench-session:${i}`).digest('base64url').slice(0, 32);
  return tagOf ? `${tagOf(`bench-user-${i}`)}.${random}` : random;
}

/** Synthetic session `i`, shaped like `template` (a real login's record); its own sub and sid. */
export function syntheticRecord(i: number, template: SessionRecord, now: number): SessionRecord {
  const sub = `bench-user-${i}`;
  const sid = `bench-sid-${i}`;
  const user = { ...(template.data.user as Record<string, unknown>), sub };
  return {
    ...template,
    id: syntheticId(i),
    sub,
    sid,
    createdAt: now,
    lastSeenAt: now,
    idleExpiresAt: template.idleExpiresAt - template.lastSeenAt + now,
    absoluteExpiresAt: template.absoluteExpiresAt - template.createdAt + now,
    data: { ...template.data, user, sid },
  };
}

/**
 * Creates synthetic sessions `from` (inclusive) to `to` (exclusive) through the store's own
 * `create` (each with a copy of the template's token record), `batch` at a time in flight (the Redis client pipelines them; few enough to stay within its 1 s command timeout on a busy machine; SQLite and memory run
 * them back to back).
 * @returns the wall time taken, in milliseconds.
 */
export async function fillStore(store: SessionStore, template: SessionTemplate, from: number, to: number, batch = 100): Promise<number> {
  const start = performance.now();
  const now = Date.now();
  for (let i = from; i < to; i += batch) {
    const end = Math.min(to, i + batch);
    const pending: Promise<void>[] = [];
    for (let j = i; j < end; j++) pending.push(store.create(syntheticRecord(j, template.record, now), template.tokens));
    await Promise.all(pending);
  }
  return performance.now() - start;
}
