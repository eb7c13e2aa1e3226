/**
 * Server-side views: Eta templates from views/ with HTML escaping on by default (`<%= %>`
 * escapes, only `<%~ include() %>` of our own partials is raw).
 */
import path from 'node:path';
import { Eta } from 'eta';

export interface Renderer {
  /** Renders `name` (e.g. `pages/home`, `partials/api-hello`) with `data`; returns HTML. */
  render(name: string, data: Record<string, unknown>): string;
}

/** Creates a renderer over `viewsDir` (templates cached unless `development`). */
export function createRenderer(viewsDir: string, development: boolean): Renderer {
  const eta = new Eta({ views: path.resolve(viewsDir), autoEscape: true, autoTrim: false, cache: !development });
  return {
    render: (name, data) => eta.render(name, data),
  };
}
