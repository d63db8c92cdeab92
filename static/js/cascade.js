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

// Review notes save themselves as they are typed (a second after the last key), and
// before the meeting moves to another item; leaving the page with a change not yet
// saved asks first. The Save button still saves and shows any message in place.
const pending = new Map(); // form → timer of its next save
const unsaved = new Set(); // forms whose last save failed or has not happened yet

function say(form, text) {
  const status = form.querySelector("[data-autosave-status]");
  if (status) status.textContent = text;
}

function autosave(form) {
  clearTimeout(pending.get(form));
  pending.delete(form);
  say(form, "Saving…");
  return fetch(form.action, {
    method: "POST",
    body: new FormData(form),
    headers: { "HX-Request": "true" },
    credentials: "same-origin",
    keepalive: true,
  }).then((response) => {
    if (response.ok) {
      unsaved.delete(form);
      say(form, `Saved at ${new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}.`);
    } else {
      say(form, response.status === 400
        ? "Not saved: press Save to see what needs changing."
        : "Not saved: you may no longer change this review.");
    }
  }).catch(() => {
    say(form, "Not saved: the connection failed. Keep this page open and press Save.");
  });
}

document.addEventListener("input", (event) => {
  const form = event.target.closest("form[data-autosave]");
  if (!form) return;
  unsaved.add(form);
  say(form, "Changes not saved yet…");
  clearTimeout(pending.get(form));
  pending.set(form, setTimeout(() => autosave(form), 1000));
});

document.addEventListener("htmx:beforeRequest", (event) => {
  const asker = event.detail.elt;
  for (const form of [...unsaved]) {
    if (form !== asker && form.isConnected) autosave(form);
  }
});

document.addEventListener("htmx:afterRequest", (event) => {
  if (event.detail.successful) unsaved.delete(event.detail.elt);
});

window.addEventListener("beforeunload", (event) => {
  const left = [...unsaved].filter((form) => form.isConnected);
  if (!left.length) return;
  left.forEach(autosave);
  event.preventDefault();
});
