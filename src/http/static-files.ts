/**
 * Static assets: static/ at /static/ (koa-static) and htmx served from the exactly pinned npm
 * package (no CDN) at /vendor/htmx/htmx.min.js. Mounted on prefixes so other requests never
 * touch the file system.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type Koa from 'koa';
import compose from 'koa-compose';
import mount from 'koa-mount';
import serve from 'koa-static';

const HTMX_DIR = path.dirname(createRequire(import.meta.url).resolve('htmx.org/dist/htmx.min.js'));

/** Serves `staticDir` under /static/ and htmx under /vendor/htmx/. */
export function staticFiles(staticDir: string): Koa.Middleware {
  const files = compose([
    mount('/static', serve(staticDir, { maxage: 3600_000, index: false })),
    mount('/vendor/htmx', serve(HTMX_DIR, { maxage: 86_400_000, index: false })),
  ]);
  // Other paths never reach the mounts (nor the file system).
  return function staticGate(ctx, next) {
    return ctx.path.startsWith('/static/') || ctx.path.startsWith('/vendor/htmx/') ? files(ctx, next) : next();
  };
}
