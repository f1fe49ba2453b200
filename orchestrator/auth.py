"""Ray token authentication: Seqlab turns it on and its own clients carry the token.

Ray ≥ 2.59 checks a token on the dashboard, the Jobs API and its RPCs when
``RAY_AUTH_MODE=token``. ``ray start`` makes one on first use; an in-process ``ray.init`` does
not, so :func:`ensure_token` makes it the same way (``~/.ray/auth_token``, mode 600).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def token_path() -> Path:
    """Where the token lives: ``RAY_AUTH_TOKEN_PATH`` or ``~/.ray/auth_token``."""
    return Path(os.environ.get("RAY_AUTH_TOKEN_PATH") or Path.home() / ".ray" / "auth_token")


def ensure_token() -> str:
    """The token (from ``RAY_AUTH_TOKEN`` or the token file), created if there is none."""
    if os.environ.get("RAY_AUTH_TOKEN"):
        return os.environ["RAY_AUTH_TOKEN"]
    path = token_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    return path.read_text().strip()


def enable() -> str:
    """Turn token auth on for Ray started or reached from this process; returns the token."""
    token = ensure_token()
    os.environ["RAY_AUTH_MODE"] = "token"
    return token


def headers() -> dict[str, str]:
    """HTTP headers that authenticate a request to the dashboard or the Jobs API."""
    return {"Authorization": f"Bearer {ensure_token()}"}
