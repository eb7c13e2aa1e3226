/**
 * What the Redis stores' confirmed writes must never do: hold the reads sent after them while
 * Redis `WAIT` waits for a replica (tests of the single-Redis and the cluster store).
 */
import type { SessionRecord, SessionStore } from 'koa-oidc-bff';

/**
 * Starts `create(login)` on `store`, a write it confirms with WAIT (the test arranges that no
 * replica answers, so it waits its whole timeout), reads session `readerId` 50 ms later, and
 * reports which of the two answered first: a WAIT must never hold the reads sent after it.
 */
export async function readWhileLoginWaits(store: SessionStore, login: SessionRecord, readerId: string): Promise<{ order: string[]; read: SessionRecord | undefined; readMs: number }> {
  const order: string[] = [];
  const waiting = store.create(login).then(() => order.push('login'), () => order.push('login refused'));
  await new Promise((resolve) => setTimeout(resolve, 50));
  const started = Date.now();
  const read = await store.get(readerId, Date.now());
  order.push('read');
  const readMs = Date.now() - started;
  await waiting;
  return { order, read, readMs };
}
