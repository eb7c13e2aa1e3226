/**
 * One log line per request (method, path, status, duration in ms, request id; `trace_id` and
 * `span_id` of the request's OpenTelemetry server span when it is sampled) and the request id echoed as
 * `X-Request-Id`. The query string, cookies and headers are never logged.
 */
import { randomUUID } from 'node:crypto';
import type Koa from 'koa';
import { requestSpan } from 'koa-oidc-bff';
import { requestLineLogger, type Logger } from '../log.ts';

/** Middleware factory; mount it outermost so the line shows the final status. */
export function requestLog(appLogger: Logger): Koa.Middleware {
  const logger = requestLineLogger(appLogger);
  return async function logRequest(ctx, next) {
    const start = process.hrtime.bigint();
    const requestId = randomUUID();
    ctx.state.requestId = requestId;
    ctx.set('X-Request-Id', requestId);
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      // The request's sampled server span (a lookup on the Koa context; none without an OpenTelemetry SDK).
      // One object shape for every line (pino leaves out undefined fields): a second shape for the
      // rare sampled request would make pino's serialisation polymorphic for every request.
      const context = requestSpan(ctx)?.spanContext();
      logger.info({ requestId, method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(ms * 100) / 100, trace_id: context?.traceId, span_id: context?.spanId }, 'request');
    }
  };
}
