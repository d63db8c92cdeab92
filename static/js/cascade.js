// Small behaviours that need no framework. Loaded from our own origin (CSP: 'self').
document.addEventListener("click", (event) => {
  const print = event.target.closest("[data-print]");
  if (print) {
    event.preventDefault();
    window.print();
  }
});

// In-place forms (htmx) answer 400 with the form again, its messages beside the fields,
// and 403 with the reason they were refused, as plain text. Both stay in place, in the
// development setup too: django-htmx's debug helper (DEBUG only) would otherwise
// replace the whole page with the answer. Capturing on window runs before it.
window.addEventListener("htmx:beforeOnLoad", (event) => {
  const status = event.detail.xhr.status;
  if (status === 400 || status === 403) event.stopPropagation();
}, true);

// A refused in-place action: its reason shows inside the form that asked; nothing else
// on the page changes.
document.addEventListener("htmx:beforeSwap", (event) => {
  if (event.detail.xhr.status !== 403) return;
  event.detail.shouldSwap = false;
  const asker = event.detail.requestConfig.elt;
  const form = asker.closest("form") || asker;
  form.querySelectorAll(".field-error:not(.refused)").forEach((stale) => stale.remove());
  let note = form.querySelector(".refused");
  if (!note) {
    note = document.createElement("p");
    note.className = "field-error refused";
    note.setAttribute("role", "alert");
    form.append(note);
  }
  note.textContent = event.detail.xhr.responseText;
});
