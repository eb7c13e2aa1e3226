/**
 * One log line per request (method, path, status, duration in ms, request id; `trace_id` and
 * `span_id` of the request's OpenTelemetry span when one is active) and the request id echoed as
 * `X-Request-Id`. The query string, cookies and headers are never logged.
 */
import { randomUUID } from 'node:crypto';
import { trace } from '@opentelemetry/api';
import type Koa from 'koa';
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
      // Without an OpenTelemetry SDK there is never an active span (a context lookup, nothing else).
      const span = trace.getActiveSpan();
      if (span) {
        const { traceId, spanId } = span.spanContext();
        logger.info({ requestId, method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(ms * 100) / 100, trace_id: traceId, span_id: spanId }, 'request');
      } else {
        logger.info({ requestId, method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(ms * 100) / 100 }, 'request');
      }
    }
  };
}
