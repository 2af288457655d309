// Order form: remove a line row.  (Rows are added by htmx; the server computes every amount.)
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-remove-line]");
  if (!button) return;
  event.preventDefault();
  const row = button.closest("[data-testid='order-line-row']");
  if (row) row.remove();
});
