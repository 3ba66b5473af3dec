"""Partner enablement LMS: the application factory."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from lms.config import PROJECT_ROOT, load_config

MIGRATIONS_DIR = PROJECT_ROOT / "migrations"


def create_app(overrides: dict | None = None) -> Flask:
    """Build the app: config -> extensions -> blueprints -> errors -> CLI."""
    config = load_config(overrides)
    app = Flask(
        __name__,
        instance_path=config["INSTANCE_PATH"],
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(Path(__file__).parent / "static"),
    )
    app.config.update(config)
    if app.config.get("PROXY_HOPS"):
        # Behind a reverse proxy the client's address (for sign-in throttling) and scheme
        # come from X-Forwarded-* headers, trusted for this many proxies only.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    from lms.extensions import csrf, db, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR))
    csrf.init_app(app)
    login_manager.init_app(app)

    from lms import models  # noqa: F401  (register every table with the metadata)
    from lms.accounts import views as accounts_views

    # Sections the domains add to lower domains' pages (lms.core.sections).
    from lms.assessments import person_section as _attempts  # noqa: F401
    from lms.assessments import views as assessment_views
    from lms.catalog import organisation_change as _tracks_change  # noqa: F401
    from lms.catalog import staff_views
    from lms.catalog import views as catalog_views
    from lms.certifications import api as certification_api
    from lms.certifications import person_section as _certificates  # noqa: F401
    from lms.certifications import verify_views
    from lms.certifications import views as certification_views
    from lms.core import web
    from lms.core.errors import register_error_handlers
    from lms.journeys import person_section as _journey  # noqa: F401
    from lms.journeys import views as journey_views
    from lms.readiness import organisation_change as _tier_change  # noqa: F401
    from lms.readiness import views as readiness_views
    from lms.scorecard import api as scorecard_api
    from lms.scorecard import views as scorecard_views

    web.init_app(app)
    app.register_blueprint(accounts_views.bp)
    app.register_blueprint(accounts_views.admin_bp)
    app.register_blueprint(catalog_views.bp)
    app.register_blueprint(staff_views.bp)
    app.register_blueprint(assessment_views.bp)
    app.register_blueprint(certification_views.bp)
    app.register_blueprint(verify_views.bp)
    app.register_blueprint(certification_api.bp)
    app.register_blueprint(journey_views.bp)
    app.register_blueprint(readiness_views.bp)
    app.register_blueprint(scorecard_views.bp)
    app.register_blueprint(scorecard_api.bp)
    register_error_handlers(app)

    from lms.assessments import listeners as assessment_listeners
    from lms.catalog import listeners as catalog_listeners
    from lms.certifications import listeners as certification_listeners
    from lms.journeys import listeners as journey_listeners
    from lms.readiness import listeners as readiness_listeners
    from lms.scorecard import listeners as scorecard_listeners

    catalog_listeners.connect()
    assessment_listeners.connect()
    certification_listeners.connect()
    journey_listeners.connect()
    readiness_listeners.connect()
    scorecard_listeners.connect()

    from lms.cli import register_commands

    register_commands(app)
    return app
