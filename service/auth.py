"""Who may call the service: a bearer token or basic auth, as Alertmanager's `http_config` can send them.

Both compare in constant time. The identity returned is the basic-auth user (a person or a system), or
`token` for the shared bearer token; approvals record it beside the approver named in the body.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from service.settings import ServiceSettings

BEARER_IDENTITY = "token"


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def authenticate(authorization: str | None, settings: ServiceSettings) -> str | None:
    """The caller's identity for an `Authorization` header value, or None when it does not authenticate."""
    if not authorization:
        return None
    scheme, _, credentials = authorization.partition(" ")
    scheme, credentials = scheme.lower(), credentials.strip()
    if scheme == "bearer":
        token = settings.resolved_token()
        return BEARER_IDENTITY if token is not None and _same(credentials, token) else None
    if scheme == "basic":
        password = settings.resolved_basic_password()
        if not settings.basic_user or password is None:
            return None
        try:
            user, sep, given = base64.b64decode(credentials, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        ok = sep == ":" and _same(user, settings.basic_user) and _same(given, password)
        return user if ok else None
    return None
