/**
 * Debian's Chromium for the browser tests, driven by playwright-core (the library only: no browser
 * is ever downloaded). `CHROMIUM_PATH` overrides the default /usr/bin/chromium.
 */
import { accessSync, constants } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags that work in a container without a GPU, a sandbox or network access. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const INSTALL_HINT = 'install it with `apt-get install -y chromium` or point CHROMIUM_PATH at a Chromium binary';

/**
 * Locates the browser. Input: the environment (reads CHROMIUM_PATH). Output: the executable's path,
 * or a one-line message saying what is missing and how to install it. Never throws.
 */
export function findChromium(env: NodeJS.ProcessEnv = process.env): { path: string } | { missing: string } {
  const path = env.CHROMIUM_PATH || DEFAULT_CHROMIUM_PATH;
  try {
    accessSync(path, constants.X_OK);
    return { path };
  } catch {
    const origin = env.CHROMIUM_PATH ? 'CHROMIUM_PATH' : 'the default path';
    return { missing: `no Chromium at ${path} (${origin}): ${INSTALL_HINT}` };
  }
}

/** Launches headless Chromium; each `browser.newContext()` is then a fresh, isolated profile. */
export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
}
