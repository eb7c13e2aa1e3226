/**
 * Page checks for the browser tests of the demo's and the dev IdP's pages (issue 12): layout at a
 * width (no horizontal overflow, nothing outside the viewport, no button label that wraps, no
 * word broken inside a button or table cell), accessibility (axe-core, serious and critical
 * violations, light and dark) and screenshots under test-results/pages/. axe is evaluated by the
 * test through the DevTools protocol, so the page's CSP stays as it is and reports nothing.
 */
import { createRequire } from 'node:module';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';

export const WIDTHS = [390, 768, 1280] as const;
/** The ends of the supported range, checked for layout only (no screenshot, no axe). */
export const EDGE_WIDTHS = [320, 1440] as const;
export const SCHEMES = ['light', 'dark'] as const;
export const SHOTS_DIR = path.resolve('test-results', 'pages');
const AXE_PATH = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
let axeSource: Promise<string> | undefined;

/**
 * What is wrong with the layout of the page as it is now (runs in the page). Checks every visible
 * element: the document must not scroll sideways; no element may stick out of the viewport; a
 * button's label stays on one line; no word inside a button or table cell is split across lines.
 */
function layoutProblems(): string[] {
  const problems: string[] = [];
  const width = document.documentElement.clientWidth;
  const describe = (el: Element) => {
    const text = (el.textContent ?? '').replace(/\s+/g, ' ').trim().slice(0, 40);
    return `<${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.className && typeof el.className === 'string' ? `.${el.className.trim().split(/\s+/).join('.')}` : ''}> "${text}"`;
  };
  if (document.documentElement.scrollWidth > width + 1) problems.push(`the document scrolls sideways: ${document.documentElement.scrollWidth}px wide in ${width}px`);
  const visible = (el: Element) => el.checkVisibility({ contentVisibilityAuto: true, opacityProperty: false, visibilityProperty: true });
  for (const el of document.body.querySelectorAll('*')) {
    if (!visible(el)) continue;
    const rect = el.getBoundingClientRect();
    if (rect.width === 0 || rect.height === 0) continue;
    // Visually hidden on purpose (1px, clipped).
    if (rect.width <= 1 && rect.height <= 1) continue;
    if (rect.left < -1 || rect.right > width + 1) problems.push(`outside the viewport (${Math.round(rect.left)}..${Math.round(rect.right)} of ${width}): ${describe(el)}`);
  }
  const lineTops = (range: Range) => new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top / 4))).size;
  for (const el of document.body.querySelectorAll('button, .button, td, th')) {
    if (!visible(el)) continue;
    const isButton = el.matches('button, .button');
    if (isButton) {
      const range = document.createRange();
      range.selectNodeContents(el);
      if (lineTops(range) > 1) problems.push(`a button label wraps: ${describe(el)}`);
    }
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.textContent ?? '';
      for (const match of text.matchAll(/\S+/g)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        if (lineTops(range) > 1) problems.push(`the word "${match[0]}" breaks across lines in ${describe(el)}`);
      }
    }
  }
  return problems;
}

/** Sets the viewport width (height 900) and returns the layout problems at that width. */
export async function layoutAt(page: Page, width: number): Promise<string[]> {
  await page.setViewportSize({ width, height: 900 });
  // One frame for the layout to settle after the resize.
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
  // As source with a stand-in for the `__name` helper tsx adds to named inner functions.
  return page.evaluate(`(() => { const __name = (f) => f; return (${layoutProblems.toString()})(); })()`) as Promise<string[]>;
}

/** Saves a full-page screenshot as test-results/pages/<name>-<width>[-dark].png. */
export async function screenshot(page: Page, name: string, width: number, scheme: 'light' | 'dark' = 'light'): Promise<string> {
  await mkdir(SHOTS_DIR, { recursive: true });
  const file = path.join(SHOTS_DIR, `${name}-${width}${scheme === 'dark' ? '-dark' : ''}.png`);
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled', caret: 'hide' });
  return file;
}

/** The serious and critical axe-core violations of the page in `scheme`, one line each. */
export async function axeViolations(page: Page, scheme: 'light' | 'dark'): Promise<string[]> {
  await page.emulateMedia({ colorScheme: scheme });
  // Evaluated rather than added as a <script>: an inline script would be (rightly) refused by the CSP.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(await (axeSource ??= readFile(AXE_PATH, 'utf8')));
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: unknown[]; failureSummary?: string }> }> }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.impact} ${v.id} (${v.help}): ${v.nodes.slice(0, 4).map((n) => `${JSON.stringify(n.target)} ${n.failureSummary?.split('\n').slice(1).join(' ').trim() ?? ''}`).join(' | ')}`);
  });
  await page.emulateMedia({ colorScheme: 'light' });
  return violations;
}
