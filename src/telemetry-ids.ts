/**
 * Trace and span ids for the demo's tracer provider (the SDK's `idGenerator` option): W3C Trace
 * Context ids (16 and 8 random bytes as lowercase hex, never all zeros), cut from a pool of
 * cryptographically random bytes refilled 16 KiB at a time. The SDK's default generator draws
 * each id from `Math.random` four bytes at a time; every request starts a server span (sampled or
 * not), so this is on the per-request path: one hex slice per id instead.
 */
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 16 * 1024;

/** An OpenTelemetry `IdGenerator` (structurally): `generateTraceId()` and `generateSpanId()`. */
export class PooledRandomIdGenerator {
  readonly #pool = Buffer.allocUnsafe(POOL_BYTES);
  #offset = POOL_BYTES;

  /** 32 lowercase hex characters (W3C trace-id), never all zeros. */
  generateTraceId = (): string => this.#next(16);

  /** 16 lowercase hex characters (W3C parent-id), never all zeros. */
  generateSpanId = (): string => this.#next(8);

  #next(bytes: number): string {
    for (;;) {
      if (this.#offset + bytes > POOL_BYTES) {
        randomFillSync(this.#pool);
        this.#offset = 0;
      }
      const start = this.#offset;
      this.#offset += bytes;
      // All-zero ids are invalid (W3C Trace Context 3.2.2.3 and 3.2.2.4): draw again.
      for (let i = start; i < start + bytes; i++) if (this.#pool[i] !== 0) return this.#pool.toString('hex', start, start + bytes);
    }
  }
}
