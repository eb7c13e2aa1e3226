/**
 * The OpenTelemetry context manager of the demo: Node's AsyncLocalStorage, switched on only while
 * a context is entered (a sampled request's span, an exporter's own work) and off again when none
 * is. On Node 20 an enabled AsyncLocalStorage runs async_hooks for every promise of every request,
 * which cost more than half of the authenticated path's CPU in `npm run bench`; the package enters
 * a context only around the IdP calls of a sampled (recorded) request (its own routes and token
 * refreshes), never for a whole request, so with a 1 % sampler the hooks are almost never on. Once
 * any context has been entered (the SDK's own span export enters one every 5 s), V8's promise hooks
 * stay installed even with the storage off: an `await` costs about 25 % more in a loop, about
 * 1.5 µs per authenticated call in `bench/telemetry-in-process.ts`. (Node 22+'s AsyncContextFrame makes AsyncLocalStorage cheap; this is for Node 20.)
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ROOT_CONTEXT, type Context, type ContextManager } from '@opentelemetry/api';

const isPromise = (v: unknown): v is Promise<unknown> => typeof (v as { then?: unknown } | null)?.then === 'function';

export class OnDemandContextManager implements ContextManager {
  readonly #storage = new AsyncLocalStorage<Context>();
  /** Contexts entered and not yet left (across concurrent requests). */
  #entered = 0;

  active(): Context {
    return this.#entered === 0 ? ROOT_CONTEXT : (this.#storage.getStore() ?? ROOT_CONTEXT);
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(context: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    this.#entered++;
    let result: ReturnType<F>;
    try {
      result = this.#storage.run(context, () => fn.apply(thisArg, args));
    } catch (err) {
      this.#leave();
      throw err;
    }
    if (isPromise(result)) return result.finally(() => this.#leave()) as ReturnType<F>;
    this.#leave();
    return result;
  }

  bind<T>(context: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const manager = this;
    const fn = target as unknown as (...args: unknown[]) => unknown;
    return function bound(this: unknown, ...args: unknown[]) {
      return manager.with(context, () => fn.apply(this, args));
    } as unknown as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.#storage.disable();
    return this;
  }

  /** The last context left: switch the hooks off (Node disables async_hooks when no storage is enabled). */
  #leave(): void {
    if (--this.#entered === 0) this.#storage.disable();
  }
}
