"""The SAML service provider's two addresses, per organization (identity/saml.py does
the work):

- `/sso/<slug>/saml/acs/`: the IdP's answer, posted by the person's browser (HTTP-POST
  binding; no CSRF token, the RelayState bound to the session plays that part). What
  cannot be read is a 400 page, a refused answer a 403 page; never a 500.
- `/sso/<slug>/saml/metadata/`: the SP metadata an IdP is configured from; its address
  is also the SP's entity id (the Audience URI).

A cross-site post carries no SameSite=Lax session cookie, so the first post of an
answer to a browser whose session cookie was not sent is answered with a page that
posts it again from Cascade's own origin (automatically, or with its button): that
second, same-site post carries the session the sign-in started in.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from org.models import Organization

from . import jit, saml
from .models import Protocol, SSOConfig

RESUBMITTED = "cascade_resubmitted"


def _bad_request(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "identity/sso_error.html", {"message": message}, status=400)


@csrf_exempt
@require_POST
def acs(request: HttpRequest, slug: str) -> HttpResponse:
    config = (
        SSOConfig.objects.select_related("organization")
        .filter(organization__slug=slug, protocol=Protocol.SAML)
        .first()
    )
    if config is None:
        return _bad_request(request, "No organization signs in with SAML at this address.")
    try:
        saml_response, relay_state = saml.read_post(request.POST)
    except saml.Malformed as exc:
        return saml.error_page(request, config, str(exc), status=400)
    if settings.SESSION_COOKIE_NAME not in request.COOKIES and not request.POST.get(RESUBMITTED):
        context = {
            "saml_response": saml_response,
            "relay_state": relay_state,
            "resubmitted": RESUBMITTED,
            "organization": config.organization,
        }
        return render(request, "identity/saml_continue.html", context)
    try:
        after = saml.finish(request, config, saml_response, relay_state)
    except saml.Malformed as exc:
        return saml.error_page(request, config, str(exc), status=400)
    except saml.Rejected as exc:
        return saml.error_page(request, config, str(exc), status=403)
    except jit.Refusal as refusal:
        return saml.refused(request, config, refusal)
    return HttpResponseRedirect(after)


@require_GET
def metadata(request: HttpRequest, slug: str) -> HttpResponse:
    organization = get_object_or_404(Organization, slug=slug)
    return HttpResponse(saml.sp_metadata(organization), content_type="application/samlmetadata+xml")
