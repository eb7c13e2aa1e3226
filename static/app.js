// Page behaviour kept out of the HTML so the Content-Security-Policy can forbid inline scripts.
// htmx itself is configured by <meta name="htmx-config">.
document.addEventListener('htmx:sendError', (event) => {
  const target = event.detail && event.detail.target;
  if (target) target.textContent = 'The server could not be reached. Check your connection and try again.';
});

// Times as readable dates in the reader's own time zone (the server renders UTC; the raw value stays in the title).
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
function localTimes(root) {
  for (const time of root.querySelectorAll('time[data-local]')) {
    const date = new Date(time.getAttribute('datetime'));
    if (!Number.isNaN(date.getTime())) time.textContent = dateFormat.format(date);
  }
}

// Confirmation dialogs open with invoker commands (commandfor/command); this covers browsers without them.
const invokerCommands = 'command' in HTMLButtonElement.prototype;
document.addEventListener('click', (event) => {
  if (invokerCommands) return;
  const button = event.target instanceof Element ? event.target.closest('button[commandfor]') : null;
  const dialog = button && document.getElementById(button.getAttribute('commandfor'));
  if (!(dialog instanceof HTMLDialogElement)) return;
  if (button.getAttribute('command') === 'show-modal' && !dialog.open) dialog.showModal();
  if (button.getAttribute('command') === 'close') dialog.close();
});

// The narrow-screen menu closes after a choice (the header is replaced on navigation anyway) and on Escape.
document.addEventListener('keydown', (event) => {
  if (event.key !== 'Escape') return;
  const menu = document.querySelector('details.menu[open]');
  if (menu) {
    menu.open = false;
    menu.querySelector('summary').focus();
  }
});

document.addEventListener('htmx:load', (event) => localTimes(event.detail.elt));
if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', () => localTimes(document));
else localTimes(document);
