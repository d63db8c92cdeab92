// Small behaviours that need no framework. Loaded from our own origin (CSP: 'self').
document.addEventListener("click", (event) => {
  const print = event.target.closest("[data-print]");
  if (print) {
    event.preventDefault();
    window.print();
  }
});
