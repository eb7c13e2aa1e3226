/**
 * Request bodies: the app accepts exactly one kind, small urlencoded forms (the IdP's form_post
 * and the logout form), with every limit set here explicitly. Any other body on those routes is
 * refused (415), an oversized one gets 413, a malformed one 400; no route parses JSON.
 */
import type Koa from 'koa';
import bodyParser from 'koa-bodyparser';
import compose from 'koa-compose';
import { AppError } from '../errors.ts';

/** Largest form accepted by default, in bytes after decompression (an authorization response is a few KiB). */
export const FORM_LIMIT = '64kb';

export interface FormBodyOptions {
  /** The error for a body that is neither too large nor of the wrong type but cannot be read. */
  malformed: () => AppError;
  /** Largest body after decompression, in `bytes` notation (`4kb`); default {@link FORM_LIMIT}. */
  limit?: string;
}

/**
 * Middleware that parses an `application/x-www-form-urlencoded` body into `ctx.request.body`
 * (an empty object when there is no body).
 * @throws {AppError} 415 `ERR_UNSUPPORTED_MEDIA_TYPE` for another content type, encoding or
 *   encoding; 413 `ERR_BODY_TOO_LARGE` beyond the limit; `options.malformed()` otherwise.
 */
export function formBody(options: FormBodyOptions): Koa.Middleware {
  // `queryString` (qs options) is passed on to co-body but missing from the Options type.
  const parserOptions: bodyParser.Options & { queryString: Record<string, unknown> } = {
    enableTypes: ['form'],
    formLimit: options.limit ?? FORM_LIMIT,
    // Not enabled, but bounded anyway should anyone enable them.
    jsonLimit: '1kb',
    textLimit: '1kb',
    xmlLimit: '1kb',
    // Flat forms only: no `a.b` objects, at most 100 fields.
    // Beyond 100 fields the form is refused (400), never cut short: a dropped `_csrf` or `state` would read as a forgery.
    queryString: { allowDots: false, depth: 1, parameterLimit: 100, throwOnLimitExceeded: true },
    onerror: (err: Error & { status?: number }) => {
      if (err.status === 413) throw new AppError(413, 'ERR_BODY_TOO_LARGE', 'The request is too large.', { detail: err.message });
      if (err.status === 415) throw unsupported(err.message);
      throw options.malformed();
    },
  };
  const parse = bodyParser(parserOptions);
  return compose([
    async function requireForm(ctx, next) {
      // `is` is null without a body, false for a body of another (or no) type.
      if (ctx.request.is('application/x-www-form-urlencoded') === false) throw unsupported(`content-type ${ctx.get('content-type') || 'missing'}`);
      await next();
    },
    parse,
  ]);
}

function unsupported(detail: string): AppError {
  return new AppError(415, 'ERR_UNSUPPORTED_MEDIA_TYPE', 'Unsupported content type.', { detail });
}
