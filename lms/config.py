"""Configuration: defaults, overridden by LMS_* environment variables."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = PROJECT_ROOT / "instance"


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"LMS_{name}", default)


def _secret_key(instance: Path, production: bool) -> str:
    """Return LMS_SECRET_KEY, or in development a key generated once into instance/."""
    configured = _env("SECRET_KEY")
    if configured:
        return configured
    if production:
        raise RuntimeError(
            "LMS_SECRET_KEY must be set in production (LMS_ENV=production); refusing to start."
        )
    key_file = instance / "secret_key"
    if not key_file.exists():
        instance.mkdir(parents=True, exist_ok=True)
        # Gunicorn's workers start together and each would write a key of its own, leaving
        # them signing cookies with different keys. The key is written whole to a file of
        # this process, then linked into place, which fails if another process won: every
        # process then reads the winner's key.
        draft = instance / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
            out.write(secrets.token_urlsafe(48))  # readable by this user only, from the start
        try:
            os.link(draft, key_file)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return key_file.read_text().strip()


def load_config(overrides: dict | None = None) -> dict:
    """Build the Flask config mapping from defaults, environment and overrides."""
    overrides = dict(overrides or {})
    instance = Path(overrides.pop("INSTANCE_PATH", None) or _env("INSTANCE_PATH")
                    or DEFAULT_INSTANCE)
    production = (overrides.get("LMS_ENV") or _env("ENV", "development")) == "production"
    database_url = _env("DATABASE_URL") or f"sqlite:///{instance / 'lms.db'}"
    config = {
        "LMS_ENV": "production" if production else "development",
        "INSTANCE_PATH": str(instance),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "BASE_URL": (_env("BASE_URL") or "http://127.0.0.1:5000").rstrip("/"),
        "SMTP_URL": _env("SMTP_URL"),
        "MAIL_FROM": _env("MAIL_FROM", "Kestrel Partner Academy <academy@vendor.example>"),
        "CONTENT_PATH": _env("CONTENT_PATH") or str(PROJECT_ROOT / "content"),
        "INVITATION_TTL_DAYS": int(_env("INVITATION_TTL_DAYS", "14")),
        "PASSWORD_RESET_TTL_MINUTES": int(_env("PASSWORD_RESET_TTL_MINUTES", "60")),
        # Login throttling: this many failures inside the window locks the email / address.
        "LOGIN_MAX_FAILURES": int(_env("LOGIN_MAX_FAILURES", "5")),
        "LOGIN_FAILURE_WINDOW_MINUTES": int(_env("LOGIN_FAILURE_WINDOW_MINUTES", "15")),
        # Password reset requests allowed per email (four times that per address) per window.
        "PASSWORD_RESET_MAX_REQUESTS": int(_env("PASSWORD_RESET_MAX_REQUESTS", "3")),
        # A session ends after this long unused, and this long after sign-in in any case.
        "SESSION_IDLE_MINUTES": int(_env("SESSION_IDLE_MINUTES", "240")),
        "SESSION_MAX_HOURS": int(_env("SESSION_MAX_HOURS", "72")),
        "PROXY_HOPS": int(_env("PROXY_HOPS", "0")),
        # Jobs run inline unless a Celery broker (Redis) is configured.
        "CELERY_BROKER_URL": _env("CELERY_BROKER_URL"),
        # The queue jobs travel on: deployments (or test runs) sharing one Redis keep their
        # jobs apart by naming their own, so no worker runs another's jobs on its database.
        "CELERY_QUEUE": _env("CELERY_QUEUE") or "lms",
        # Shared counters (the verification rate limit) live here when set, else in the
        # database: one Redis round trip instead of a database write per public lookup.
        "REDIS_URL": _env("REDIS_URL"),
        # Public certificate lookups (page, JSON, bulk) allowed per client per minute.
        "VERIFY_RATE_LIMIT_PER_MINUTE": int(_env("VERIFY_RATE_LIMIT_PER_MINUTE", "60")),
        # Webhooks may go to loopback, link-local and private addresses only when this is
        # set (a receiver on the same network); otherwise the server could be made to call
        # its own internal services.
        "WEBHOOK_ALLOW_PRIVATE": (_env("WEBHOOK_ALLOW_PRIVATE") or "").lower()
        in ("1", "true", "yes"),
        # Evidence files for onboarding sign-offs are capped at 10 MB; leave room for the form.
        "MAX_CONTENT_LENGTH": 11 * 1024 * 1024,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "WTF_CSRF_TIME_LIMIT": None,
    }
    config.update(overrides)
    if "SECRET_KEY" not in config:
        config["SECRET_KEY"] = _secret_key(instance, production)
    return config
