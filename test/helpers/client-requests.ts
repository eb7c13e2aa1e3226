/**
 * The paths of the HTTP client requests this process sends, by client: Node's own HTTP client
 * announces each request on the diagnostics channel `http.client.request.start`, `fetch` (undici)
 * on `undici:request:create`. For the tests of which client the OTLP exports leave through.
 */
import dc from 'node:diagnostics_channel';

export interface ClientRequests {
  /** Paths sent with node:http / node:https (`ClientRequest`). */
  readonly nodeHttp: string[];
  /** Paths sent with `fetch`. */
  readonly fetch: string[];
  /** Stops recording. */
  stop(): void;
}

/** Starts recording; call `stop()` when done (after the test's last request). */
export function recordClientRequests(): ClientRequests {
  const nodeHttp: string[] = [];
  const fetch: string[] = [];
  const onNodeHttp = (message: unknown) => nodeHttp.push((message as { request: { path: string } }).request.path);
  const onFetch = (message: unknown) => fetch.push((message as { request: { path: string } }).request.path);
  dc.subscribe('http.client.request.start', onNodeHttp);
  dc.subscribe('undici:request:create', onFetch);
  return {
    nodeHttp,
    fetch,
    stop() {
      dc.unsubscribe('http.client.request.start', onNodeHttp);
      dc.unsubscribe('undici:request:create', onFetch);
    },
  };
}
