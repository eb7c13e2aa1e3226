/** A short, human description of a browser from its User-Agent (bowser), for "Your sessions". */
import Bowser from 'bowser';

/**
 * "Chrome 156 on Linux", "Safari 17 on iOS", or "Unknown browser" when nothing is recognised.
 * @param userAgent the User-Agent header as stored at login (may be empty).
 */
export function deviceSummary(userAgent: string): string {
  if (!userAgent.trim()) return 'Unknown browser';
  const { browser, os } = Bowser.parse(userAgent);
  const name = browser.name ? `${browser.name}${browser.version ? ` ${browser.version.split('.')[0]}` : ''}` : 'Unknown browser';
  return os.name ? `${name} on ${os.name}` : name;
}
