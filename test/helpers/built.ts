/**
 * Tests of the published packages use their `dist/`, which `npm test` builds once before ava
 * starts (`npm run build`): two test files rebuilding in parallel would delete each other's
 * output. A test that finds `dist/` missing or older than a source file fails with the command
 * to run, so it never tests stale output.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

function newest(dir: string, include: (file: string) => boolean): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'dist') latest = Math.max(latest, newest(file, include));
    } else if (include(file)) {
      latest = Math.max(latest, statSync(file).mtimeMs);
    }
  }
  return latest;
}

/**
 * Throws unless `packageDir/dist` exists and is at least as new as every `.ts` source of the package.
 * @param sourceDir where the sources are (default: `packageDir/src`).
 */
export function assertBuilt(packageDir: string, sourceDir = path.join(packageDir, 'src')): void {
  const dist = path.join(packageDir, 'dist');
  let built: number;
  try {
    built = newest(dist, () => true);
  } catch {
    built = 0;
  }
  const sources = newest(sourceDir, (f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.includes(`${path.sep}test`));
  if (built === 0 || built < sources) {
    throw new Error(`${path.relative(process.cwd(), dist) || dist} is missing or older than its sources: run \`npm run build\` (npm test does it before the tests)`);
  }
}
