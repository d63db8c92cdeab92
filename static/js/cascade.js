// Small behaviours that need no framework. Loaded from our own origin (CSP: 'self').
document.addEventListener("click", (event) => {
  const print = event.target.closest("[data-print]");
  if (print) {
    event.preventDefault();
    window.print();
  }
});

// A form that undoes something asks first (data-confirm: the question); htmx forms use
// hx-confirm instead.
document.addEventListener("submit", (event) => {
  const question = event.target.dataset && event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});

// In-place forms (htmx) are answered in place: a 400 is the form again, with its
// messages beside the fields (swapped as any answer); a refusal (403) swaps nothing and
// sends its reason in the "refused" event, shown here inside the form that asked,
// nothing else on the page changing. The server answers both as 200 (X-Answer-Status
// keeps the real one), so no failed request is logged for what the page shows.
document.addEventListener("refused", (event) => {
  const asker = event.target;
  const form = asker.closest("form") || asker;
  form.querySelectorAll(".field-error:not(.refused)").forEach((stale) => stale.remove());
  let note = form.querySelector(".refused");
  if (!note) {
    note = document.createElement("p");
    note.className = "field-error refused";
    note.setAttribute("role", "alert");
    form.append(note);
  }
  note.textContent = event.detail.value;
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
    // In-place answers come as 200 with the real status beside them (X-Answer-Status).
    const status = Number(response.headers.get("X-Answer-Status") || response.status);
    if (status >= 200 && status < 300) {
      unsaved.delete(form);
      say(form, `Saved at ${new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}.`);
    } else {
      say(form, status === 400
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

// The cascade tree: a box's button shows or hides the goals below it (loaded by htmx
// the first time it is pressed).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-toggle-below]");
  if (!button) return;
  const below = document.getElementById(button.getAttribute("aria-controls"));
  const open = button.getAttribute("aria-expanded") !== "true";
  button.setAttribute("aria-expanded", String(open));
  below.hidden = !open;
});

// The menu button of the top bar (shown on phones only, by the stylesheet, once this
// script has marked the bar): it opens and closes the sections; Escape closes them.
for (const button of document.querySelectorAll("[data-menu]")) {
  button.closest(".topbar").classList.add("menu-ready");
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-menu]");
  if (!button) return;
  button.setAttribute("aria-expanded", String(button.getAttribute("aria-expanded") !== "true"));
});

document.addEventListener("keydown", (event) => {
  const button = document.querySelector('[data-menu][aria-expanded="true"]');
  if (event.key !== "Escape" || !button) return;
  button.setAttribute("aria-expanded", "false");
  button.focus();
});

// Copy buttons (data-copy: the id of the field whose text they copy), hidden until this
// script shows them: without JavaScript the field's text is selected and copied by hand.
function showCopyButtons(root) {
  for (const button of root.querySelectorAll("[data-copy][hidden]")) button.hidden = false;
}
showCopyButtons(document);
document.addEventListener("htmx:load", (event) => showCopyButtons(event.detail.elt));

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  const said = (text) => {
    button.textContent = text;
    setTimeout(() => { button.textContent = "Copy"; }, 2000);
  };
  field.select();
  (navigator.clipboard ? navigator.clipboard.writeText(field.value) : Promise.reject())
    .then(() => said("Copied"))
    .catch(() => said(document.execCommand("copy") ? "Copied" : "Press Ctrl+C"));
});
