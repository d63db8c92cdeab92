// The SAML answer, posted again from Cascade's own origin (identity/saml_views.py):
// submitted at once; the page's button does the same without JavaScript.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("saml-continue");
  if (form) form.submit();
});
