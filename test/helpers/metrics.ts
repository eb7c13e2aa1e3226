/**
 * Reading a Prometheus scrape in tests: the exposition parsed by a maintained text-format parser
 * (parse-prometheus-text-format), values looked up by exact label sets, and the exposition linted
 * by Prometheus's own `promtool check metrics`.
 */
import { spawn } from 'node:child_process';
import parsePrometheusTextFormat, { type MetricFamily, type Sample } from 'parse-prometheus-text-format';

/** Prometheus's linter (Debian package `prometheus`; .ci/run installs it). */
export const PROMTOOL = 'promtool';

export interface Scrape {
  text: string;
  families: MetricFamily[];
  /**
   * The same exposition parsed without its histogram TYPE lines, so each `<name>_count`,
   * `_sum` and `_bucket` series is a family of its own with its labels: the parser merges every
   * label set of a histogram family into one sample (it was written for unlabelled ones).
   */
  series: MetricFamily[];
}

/** GETs `url` (a /metrics endpoint) and parses the answer. */
export async function scrape(url: string): Promise<Scrape> {
  const response = await fetch(url);
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
  const text = await response.text();
  return { text, families: parsePrometheusTextFormat(text), series: parsePrometheusTextFormat(text.replace(/^# TYPE \S+ histogram$/gm, '')) };
}

/** True when `sample` has `labels` among its labels. */
function matches(sample: Sample, labels: Record<string, string>): boolean {
  return Object.entries(labels).every(([k, v]) => sample.labels?.[k] === v);
}

/** The sum of the values of `name`'s samples matching `labels` (0 when none: a counter not yet incremented). */
export function value(s: Scrape, name: string, labels: Record<string, string> = {}): number {
  const family = s.families.find((f) => f.name === name);
  return (family?.metrics ?? []).filter((m) => matches(m, labels)).reduce((sum, m) => sum + Number(m.value ?? 0), 0);
}

/** The observation count of histogram `name` over samples matching `labels`. */
export function histogramCount(s: Scrape, name: string, labels: Record<string, string> = {}): number {
  const family = s.families.find((f) => f.name === name);
  if (family && family.type !== 'HISTOGRAM') throw new Error(`${name} is a ${family.type}`);
  // A label set's _count line follows its buckets: each is a family of its own here.
  const counts = s.series.filter((f) => f.name === `${name}_count`).flatMap((f) => f.metrics);
  return counts.filter((m) => matches(m, labels)).reduce((sum, m) => sum + Number(m.value ?? 0), 0);
}

/** Every label set of `name`, for checks on label values. */
export function labelSets(s: Scrape, name: string): Record<string, string>[] {
  const family = s.families.find((f) => f.name === name);
  const samples = family?.type === 'HISTOGRAM' ? s.series.filter((f) => f.name === `${name}_count`).flatMap((f) => f.metrics) : (family?.metrics ?? []);
  return samples.map((m) => m.labels ?? {});
}

/** Runs `promtool check metrics` on `text`; resolves with its exit code and output. */
export function promtoolCheck(text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(PROMTOOL, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c) => (output += String(c)));
    child.stderr.on('data', (c) => (output += String(c)));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(text);
  });
}
