/**
 * Trace and span ids for the demo's tracer provider (the SDK's `idGenerator` option): W3C Trace
 * Context ids (16 and 8 random bytes as lowercase hex, never all zeros), cut from a pool of
 * cryptographically random bytes refilled 16 KiB at a time. The SDK's default generator draws
 * each id from `Math.random` four bytes at a time; every request starts a server span (sampled or
 * not), so this is on the per-request path: one hex slice per id instead. For the demo's ratio
 * sampling (telemetry-sampler.ts) it also makes trace-ids to a given word and hands one to the SDK.
 */
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 16 * 1024;

/** An OpenTelemetry `IdGenerator` (structurally): `generateTraceId()` and `generateSpanId()`. */
export class PooledRandomIdGenerator {
  readonly #pool = Buffer.allocUnsafe(POOL_BYTES);
  #offset = POOL_BYTES;
  /** The last trace-id made by {@link traceIdWithWord}, and its word ({@link wordOf}). */
  #lastTraceId = '';
  #lastWord = 0;
  /** Set by {@link reuseTraceId}: what the next `generateTraceId` returns. */
  #reuse: string | undefined;

  /** 32 lowercase hex characters (W3C trace-id), never all zeros. */
  generateTraceId = (): string => {
    const reuse = this.#reuse;
    if (reuse === undefined) return this.#next(16);
    this.#reuse = undefined;
    return reuse;
  };

  /**
   * For the trace-id {@link traceIdWithWord} made last: the XOR of its four big-endian 32-bit words,
   * the value the SDK's trace-id ratio sampler computes from the hex text; undefined for any other
   * id (one from `generateTraceId` included: a sampler then reads the text).
   */
  wordOf(traceId: string): number | undefined {
    return traceId === this.#lastTraceId ? this.#lastWord : undefined;
  }

  /**
   * Makes the next `generateTraceId` return `traceId` (the one {@link traceIdWithWord} made last),
   * so that the SDK starts a span already decided on with that id.
   * @throws Error when `traceId` is not that id.
   */
  reuseTraceId(traceId: string): void {
    if (traceId !== this.#lastTraceId) throw new Error('reuseTraceId: not the trace-id made last by traceIdWithWord');
    this.#reuse = traceId;
  }

  /** Forgets a {@link reuseTraceId} the SDK did not take (it threw before drawing a trace-id). */
  cancelReuse(): void {
    this.#reuse = undefined;
  }

  /** 16 lowercase hex characters (W3C parent-id), never all zeros. */
  generateSpanId = (): string => this.#next(8);

  /** A uniformly random unsigned 32-bit integer from the pool. */
  nextWord(): number {
    return this.#pool.readUInt32BE(this.#take(4));
  }

  /**
   * A trace-id whose four big-endian 32-bit words XOR to `word` (so the SDK's ratio sampler decides
   * it as `word` says): twelve random bytes, and the last four chosen to match. With `word` drawn
   * uniformly ({@link nextWord}) every byte of the id is uniformly random. Becomes the trace-id
   * made last ({@link wordOf}, {@link reuseTraceId}).
   * @param word an unsigned 32-bit integer.
   */
  traceIdWithWord(word: number): string {
    const pool = this.#pool;
    for (;;) {
      const at = this.#take(16);
      pool.writeUInt32BE((pool.readUInt32BE(at) ^ pool.readUInt32BE(at + 4) ^ pool.readUInt32BE(at + 8) ^ word) >>> 0, at + 12);
      // All zeros only when word is 0 and the twelve bytes are too: invalid (W3C Trace Context 3.2.2.3), draw again.
      if (word === 0 && pool.readUInt32BE(at) === 0 && pool.readUInt32BE(at + 4) === 0 && pool.readUInt32BE(at + 8) === 0) continue;
      const id = pool.toString('hex', at, at + 16);
      this.#lastTraceId = id;
      this.#lastWord = word >>> 0;
      return id;
    }
  }

  /** The offset of `bytes` unused random bytes in the pool, refilled first when too few are left. */
  #take(bytes: number): number {
    if (this.#offset + bytes > POOL_BYTES) {
      randomFillSync(this.#pool);
      this.#offset = 0;
    }
    const at = this.#offset;
    this.#offset += bytes;
    return at;
  }

  #next(bytes: number): string {
    for (;;) {
      const start = this.#take(bytes);
      // All-zero ids are invalid (W3C Trace Context 3.2.2.3 and 3.2.2.4): draw again.
      for (let i = start; i < start + bytes; i++) if (this.#pool[i] !== 0) return this.#pool.toString('hex', start, start + bytes);
    }
  }
}
