"""Two-factor helpers of the tests: enrol a person directly (a fixture, not the
behaviour under test), and compute the codes their app would show with pyotp, from the
key django-otp keeps (hex) turned into the base32 secret an app is given."""

from __future__ import annotations

import base64
import time

import pyotp
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

STEP = 30


def secret_of(device: TOTPDevice) -> str:
    return base64.b32encode(bytes.fromhex(device.key)).decode()


def code_for(device: TOTPDevice) -> str:
    """A code the device accepts now: the current time step's, or — when that one was
    used already — the next one's (django-otp accepts one step of drift, never a
    step twice)."""
    device.refresh_from_db()
    now_t = int(time.time()) // STEP
    t = max(now_t, device.last_t + 1)
    assert t <= now_t + 1, "both usable codes of this half-minute are used: travel in time"
    return pyotp.TOTP(secret_of(device)).at(t * STEP)


def wrong_code_for(device: TOTPDevice) -> str:
    good = {pyotp.TOTP(secret_of(device)).at(time.time() + d * STEP) for d in (-1, 0, 1)}
    return next(c for c in (f"{n:06d}" for n in range(123456, 999999, 111111)) if c not in good)


def enrol(user) -> tuple[TOTPDevice, list[str]]:
    """A confirmed authenticator and ten recovery codes for `user`."""
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    static = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    codes = [f"code{n:04d}" for n in range(10)]
    StaticToken.objects.bulk_create(StaticToken(device=static, token=c) for c in codes)
    return device, codes


def verify(client, device: TOTPDevice) -> None:
    """Pass the code page in `client`'s session."""
    response = client.post("/mfa/verify/", {"code": code_for(device), "next": "/"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert DEVICE_ID_SESSION_KEY in client.session, "the session was not verified"
