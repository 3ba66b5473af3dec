"""Request-level wiring: user loading, template helpers, security headers."""

from __future__ import annotations

import functools
from datetime import datetime

from flask import Flask, current_app, g, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from itsdangerous import URLSafeTimedSerializer
from werkzeug.exceptions import UnsupportedMediaType

from lms.core import clock, markdown, settings, text
from lms.core.errors import Invalid
from lms.core.json_body import GuardedJSONProvider
from lms.core.markdown import render as render_markdown
from lms.core.numbers import format_number
from lms.core.params import BoundedIntConverter, FieldRule
from lms.extensions import login_manager

SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy",
     "default-src 'self'; img-src 'self' https: data:; style-src 'self'; "
     "style-src-attr 'unsafe-inline'; "
     "frame-src https://www.youtube-nocookie.com https://player.vimeo.com; "
     "media-src 'self' https:; script-src 'self'; object-src 'none'; "
     "base-uri 'none'; form-action 'self'"),
)


def relative_days(moment: datetime, now: datetime) -> str:
    """"today", "tomorrow", "in 98 days", "5 days ago": calendar days, for pages and mail."""
    days = (moment.date() - now.date()).days
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    if days == -1:
        return "yesterday"
    return f"in {days} days" if days > 0 else f"{-days} days ago"


class SessionInterface(SecureCookieSessionInterface):
    """No session for the JSON API: it is cookie-free, and the public verification lookup
    is the hottest path there is (nothing to read, verify or sign per request)."""

    def open_session(self, app, request):
        if request.path.startswith("/api/"):
            return None  # Flask substitutes a null session
        return super().open_session(app, request)

    def get_signing_serializer(self, app):
        # Flask builds a new serializer to open the cookie and another to sign it, on every
        # request; it holds nothing but the keys and settings, so one per set of keys does.
        if not app.secret_key:
            return None
        return self._serializer(app.secret_key,
                                tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))

    @functools.lru_cache(maxsize=8)  # noqa: B019 - a handful of key sets, for the process's life
    def _serializer(self, secret_key, fallbacks):
        return URLSafeTimedSerializer(
            [*fallbacks, secret_key],  # the current key last, as Flask orders them
            salt=self.salt, serializer=self.serializer,
            signer_kwargs={"key_derivation": self.key_derivation,
                           "digest_method": self.digest_method})


def template_url_for(endpoint: str, **values) -> str:
    """`url_for` for templates, remembering the URLs it built.

    A page builds the same few URLs on every view (the menu, the static files, a track's
    lessons), and the URL map does not change while the app runs: building one costs about
    as much as rendering the rest of a menu link. Only what the URL depends on is the key:
    the app's script root, the endpoint and the values. Relative endpoints (".x") and
    options ("_external", "_anchor", ...) are built every time. The values keep their order:
    it is the order of a query string's parameters.
    """
    if endpoint[0] == "." or not all(name[0] != "_" and type(value) in _REMEMBERED
                                     for name, value in values.items()):
        return url_for(endpoint, **values)
    return _built_url(request.script_root, endpoint, tuple(values.items()))


# Values remembered by: texts and whole numbers (not True, which equals 1 as a key, nor
# anything unhashable).
_REMEMBERED = frozenset({str, int})


@functools.lru_cache(maxsize=4096)
def _built_url(script_root: str, endpoint: str, values: tuple) -> str:
    return url_for(endpoint, **dict(values))


def csrf_token() -> str:
    """Flask-WTF's `generate_csrf`, signing each session's token once per process.

    Every signed-in page carries a form (sign out), so every page would sign the session's
    CSRF token again: an HMAC and a timestamp, a twentieth of a learner page's CPU. With
    no time limit on tokens (WTF_CSRF_TIME_LIMIT is None) the timestamp is never checked,
    so the token signed the first time is as good as a new one: it is kept, by the session's
    raw token and the key, and put where Flask-WTF looks first for this request's token
    (forms rendered after it use it too).
    """
    config = current_app.config
    if "csrf_token" in g or config["WTF_CSRF_TIME_LIMIT"] is not None \
            or config.get("WTF_CSRF_FIELD_NAME", "csrf_token") != "csrf_token":
        return generate_csrf()
    if not isinstance(session.get("csrf_token"), str):
        generate_csrf()  # the session's first form: Flask-WTF makes its raw token
    g.csrf_token = _signed_csrf_token(config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key,
                                      session["csrf_token"])
    return g.csrf_token


@functools.lru_cache(maxsize=4096)
def _signed_csrf_token(secret_key: str, raw: str) -> str:
    # The signing Flask-WTF's generate_csrf does (its salt, the URL-safe timed serializer).
    return URLSafeTimedSerializer(secret_key, salt="wtf-csrf-token").dumps(raw)


def _nul_in(pairs) -> str | None:
    """The name of the first field whose name or value holds a NUL character."""
    for name, value in pairs:
        if "\x00" in name or (isinstance(value, str) and "\x00" in value):
            return name.replace("\x00", "") or "?"
    return None


def init_app(app: Flask) -> None:
    app.session_interface = SessionInterface()
    app.jinja_env.globals["url_for"] = template_url_for
    app.jinja_env.globals["csrf_token"] = csrf_token  # (and in the context, below)
    # Before any blueprint adds its routes: every <int:...> is bounded and named.
    app.url_rule_class = FieldRule
    app.url_map.converters["int"] = BoundedIntConverter
    app.json = GuardedJSONProvider(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"

    @app.template_filter("date")
    def _date(value: datetime | None, fmt: str = "%d %b %Y") -> str:
        return value.strftime(fmt).lstrip("0") if value else ""

    @app.template_filter("datetime")
    def _datetime(value: datetime | None) -> str:
        return value.strftime("%d %b %Y, %H:%M UTC").lstrip("0") if value else ""

    @app.template_filter("relative_days")
    def _relative_days(value: datetime | None) -> str:
        return "" if value is None else relative_days(value, clock.now())

    app.jinja_env.finalize = text.finalize
    app.jinja_env.filters["person_name"] = text.person_name
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["inline_markdown"] = markdown.render_inline
    app.jinja_env.filters["plain"] = markdown.plain
    app.jinja_env.filters["number"] = format_number

    @app.context_processor
    def _globals():
        # The person itself, not Flask-Login's proxy: a page reads it dozens of times.
        return {"now": clock.now(), "current_user": current_user._get_current_object(),
                "vendor_name": settings.get("vendor_name"), "csrf_token": csrf_token}

    @app.before_request
    def _load_user_first():
        # Resolving the session may record "last seen" and commit; done before the view, that
        # commit carries nothing else. The cookie-free API and static files skip it.
        if request.endpoint != "static" and not request.path.startswith("/api/"):
            current_user._get_current_object()

    @app.before_request
    def _refuse_nul_characters():
        # PostgreSQL cannot store or even compare text with NUL in it; say so instead of
        # failing mid-request. (JSON bodies are checked by GuardedJSONProvider.)
        field = _nul_in((request.view_args or {}).items()) or _nul_in(
            request.args.items(multi=True))
        if field is None and "\x00" in request.path:
            field = "path"
        if field is None and request.method not in ("GET", "HEAD", "OPTIONS"):
            field = _nul_in(request.form.items(multi=True))
        if field is not None:
            raise Invalid(f"{field}: text cannot contain NUL characters.", field=field)

    @app.before_request
    def _forms_take_form_data():
        # Flask-WTF would read a JSON body as form data, and a nested value in it as a
        # field's text: outside the JSON API, state changes come from HTML forms only.
        if request.method == "POST" and request.is_json \
                and not request.path.startswith("/api/"):
            raise UnsupportedMediaType("Send the form as form data, not JSON.")

    @app.after_request
    def _security_headers(response):
        # One pass over the headers (`setdefault` rescans them for every name): the public
        # verification API answers thousands of requests a second through here.
        present = {name.lower() for name, _ in response.headers.items()}
        for name, value in SECURITY_HEADERS:
            if name.lower() not in present:
                response.headers.add(name, value)
        if request.endpoint and request.endpoint != "static" and "cache-control" not in present:
            response.headers.add("Cache-Control", "no-store")
        return response
