from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render


def member_required(view):
    """Signed in and an active member of an organization; else the login page, or a
    page saying there is no membership."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if request.member is None:
            return render(request, "no_membership.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper
