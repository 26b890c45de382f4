"""Read the access token: from a file, or the environment. Never printed, logged or stored."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from .errors import TokenFileError

DEFAULT_TOKEN_FILE = "oauthtoken.txt"


def read_token(path: Path | None, environ: dict[str, str] | os._Environ[str]) -> str:
    """The token from ``--token-file``, else ``$CANVAS_TOKEN``, else ``oauthtoken.txt``."""
    if path is None and environ.get("CANVAS_TOKEN", "").strip():
        return environ["CANVAS_TOKEN"].strip()
    path = path or Path(DEFAULT_TOKEN_FILE)
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TokenFileError(
            f"token file {path} not found: put a Canvas access token in it or set CANVAS_TOKEN"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not text"
        raise TokenFileError(f"cannot read token file {path}: {reason}") from None
    token = text.strip()
    if not token:
        raise TokenFileError(f"token file {path} is empty")
    if any(c.isspace() for c in token):
        raise TokenFileError(
            f"token file {path} holds more than one word; it should hold only the token"
        )
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        print(
            f"pageviews: warning: token file {path} is readable by other users; "
            f"run chmod 600 {path}",
            file=sys.stderr,
        )
    return token
