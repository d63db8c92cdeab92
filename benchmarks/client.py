"""What the benchmark scripts share: a free port, and a signed-in browser session."""

from __future__ import annotations

import socket

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def login(base: str, username: str, password: str) -> requests.Session:
    """A session signed in through the login page, as a person signs in."""
    session = requests.Session()
    session.get(f"{base}/accounts/login/", timeout=30)
    response = session.post(
        f"{base}/accounts/login/",
        data={
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        headers={"Referer": f"{base}/"},
        timeout=30,
    )
    if response.url.rstrip("/") != base:
        raise SystemExit(f"login failed for {username}")
    return session
