/**
 * Loaded into every test worker (ava `require`). AVA waits for a test file's process to exit by
 * itself once its tests are done; a file that leaves a socket, a server, a timer or a child
 * process open would keep the whole run waiting forever (a CI run once hung until its time limit
 * with every test passed). After a grace period this names the file and what is still open, and
 * ends the worker with a failure, so a leak is a red run with a reason instead of a hang.
 */
import test, { registerCompletionHandler } from 'ava';

/** How long a finished test file may take to close what it opened (milliseconds). */
const GRACE_MS = 20_000;

registerCompletionHandler(() => {
  const timer = setTimeout(() => {
    const open = process.getActiveResourcesInfo();
    process.stderr.write(`${test.meta.file}: the tests finished but the file did not exit within ${GRACE_MS / 1000} s; still open: ${open.join(', ') || '(nothing reported)'}\n`);
    process.exit(1);
  }, GRACE_MS);
  timer.unref();
});
