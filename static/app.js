// Page behaviour kept out of the HTML so the Content-Security-Policy can forbid inline scripts.
// htmx itself is configured by <meta name="htmx-config">.
document.addEventListener('htmx:sendError', (event) => {
  const target = event.detail && event.detail.target;
  if (target) target.textContent = 'The server could not be reached. Check your connection and try again.';
});
