"""`GET/PUT /api/v1/sso/`: the caller's organization's single sign-on settings
(admins, or a service token of the admin scope). PUT replaces them through the same
service as the Identity page (identity/services.py)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from org.models import Member
from org.permissions import MANAGE_SSO

from .selectors import addresses, sso_of
from .serializers import SSOSerializer, SSOUpdateSerializer
from .services import sso_update


def sso_representation(member: Member) -> dict[str, Any]:
    """What GET answers: the settings (empty until set) and the addresses to paste."""
    config = sso_of(member.organization_id)
    where = addresses(member.organization)
    return {
        "protocol": config.protocol if config else None,
        "issuer": config.issuer if config else "",
        "metadata_url": config.metadata_url if config else "",
        "client_id": config.client_id if config else "",
        "client_secret_set": bool(config and config.client_secret),
        "email_domains": list(config.email_domains) if config else [],
        "default_role": config.default_role if config else "member",
        "jit": config.jit if config else True,
        "enforced": config.enforced if config else False,
        "login_url": where.login_url,
        "redirect_uri": where.redirect_uri,
        "acs_url": where.acs_url,
        "metadata_url_sp": where.metadata_url_sp,
        "updated_at": config.updated_at if config else None,
    }


class SSOView(APIView):
    """The organization's single sign-on settings."""

    @extend_schema(
        responses=SSOSerializer,
        summary="Get the single sign-on settings",
        tags=["sso"],
        operation_id="sso_retrieve",
    )
    def get(self, request):
        MANAGE_SSO.require(request.member)
        return Response(SSOSerializer(sso_representation(request.member)).data)

    @extend_schema(
        request=SSOUpdateSerializer,
        responses=SSOSerializer,
        summary="Set the single sign-on settings",
        tags=["sso"],
        operation_id="sso_update",
    )
    def put(self, request):
        MANAGE_SSO.require(request.member)
        body = SSOUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        sso_update(actor=request.member, **body.validated_data)
        return Response(SSOSerializer(sso_representation(request.member)).data)
