"""In-process cost of the learner pages, beside a bare Flask route, in the same run.

For My learning, a track, a lesson and Mark complete it prints, per request: the median
wall time, the mean CPU time of this process (`time.process_time`: what a gunicorn worker
would spend; on PostgreSQL the server's own CPU is not in it), the SQL statements issued,
and the ratio of the CPU time to a bare Flask route's (`bare_app.py`'s JSON route and a bare
route answering a small HTML page). The WSGI app is called directly with a prepared environ,
so no HTTP server or test client adds to either side.

The learner is a demo learner with several assigned tracks and progress (`lms demo`). Mark
complete is measured on lessons the learner has not completed; each timed POST is followed,
untimed, by removing what it recorded, so every POST does the same work.

    .venv/bin/python benchmarks/page_cpu.py                          # SQLite, demo built in /tmp
    .venv/bin/python benchmarks/page_cpu.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/lms_bench_pages
    .venv/bin/python benchmarks/page_cpu.py --profile lesson        # cProfile one page

A PostgreSQL database is used as it is when it already holds the demo (its name must contain
"bench" to be built from scratch: migrate, content sync, demo).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))
sys.path.insert(0, str(PROJECT_ROOT / "benchmarks"))

import bare_app  # noqa: E402
from flask import Flask  # noqa: E402
from sqlalchemy import delete, event, insert, select  # noqa: E402
from werkzeug.test import EnvironBuilder  # noqa: E402

from lms import create_app  # noqa: E402

LEARNER = "tom.hughes@northwind.example"
HTML = ("<!doctype html><html lang=en><head><meta charset=utf-8><title>Bare</title></head>"
        "<body><main><h1>Hello</h1><p>A small page.</p></main></body></html>")


def bare_html_app() -> Flask:
    app = Flask("bare_html")

    @app.get("/learning")
    def learning():
        return HTML

    return app


def call(app, environ: dict, headers: list | None = None) -> tuple[int, bytes]:
    """One request through the WSGI interface, the body read to the end."""
    status = []

    def start_response(line, response_headers, exc_info=None):
        status.append(line)
        if headers is not None:
            headers.extend(response_headers)

    body = b"".join(app(dict(environ, **{"wsgi.input": io.BytesIO(environ["_body"])}),
                        start_response))
    return int(status[0].split()[0]), body


def environ_for(path: str, *, method: str = "GET", cookie: str = "", form: dict | None = None):
    builder = EnvironBuilder(path=path, method=method, base_url="http://127.0.0.1:5000",
                             headers={"Cookie": cookie} if cookie else {}, data=form)
    environ = builder.get_environ()
    environ["_body"] = environ["wsgi.input"].read()
    return environ


def measure(app, environ, runs: int, *, expect: int, counter=None, between=None) -> dict:
    walls, cpus, statements = [], [], []
    for _ in range(runs):
        if counter is not None:
            counter[0] = 0
        cpu, wall = time.process_time(), time.perf_counter()
        status, _ = call(app, environ)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if status != expect:
            raise SystemExit(f"{environ['PATH_INFO']} answered {status}, not {expect}")
        walls.append(wall)
        cpus.append(cpu)
        if counter is not None:
            statements.append(counter[0])
        if between is not None:
            between()
    return {"wall": statistics.median(walls), "cpu": statistics.fmean(cpus),
            "statements": max(statements) if statements else 0}


def prepare_database(url: str | None, folder: Path) -> str:
    """The demo database to measure: built in `folder` for SQLite, or checked/built on PG."""
    from lms.accounts.models import User
    from lms.extensions import db

    if url is None:
        url = f"sqlite:///{folder / 'pages.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(folder)})
    with app.app_context():
        from sqlalchemy import inspect

        has_demo = inspect(db.engine).has_table("user_account") and db.session.scalar(
            select(User.id).where(User.email == LEARNER)) is not None
        if not has_demo:
            if url.startswith("postgresql") and "bench" not in url.rsplit("/", 1)[-1]:
                raise SystemExit("Building a demo needs a database whose name contains 'bench'.")
            print("building the demo (migrate, content sync, demo) ...", flush=True)
            import flask_migrate

            from lms.content import sync_all
            from lms.core.jobs import commit
            from lms.demo import load_demo

            flask_migrate.upgrade(directory=str(PROJECT_ROOT / "migrations"))
            sync_all(str(PROJECT_ROOT / "content"))
            commit()
            load_demo()
            commit()
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="default: a SQLite demo built in a temp folder")
    parser.add_argument("--runs", type=int, default=300, help="requests per page (default 300)")
    parser.add_argument("--posts", type=int, default=60, help="Mark complete requests")
    parser.add_argument("--email", default=LEARNER)
    parser.add_argument("--profile", choices=["learning", "track", "lesson", "complete"],
                        help="cProfile that page and print the top functions")
    parser.add_argument("--statements",
                        choices=["learning", "track", "lesson", "complete", "last"],
                        help="print the SQL statements that page issues")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="page_cpu_"))
    url = prepare_database(args.database_url, folder)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(folder),
                      "LMS_ENV": "production", "SECRET_KEY": "bench-" * 8,
                      "SQLALCHEMY_ENGINE_OPTIONS": {}})

    from lms.accounts import sessions
    from lms.accounts.models import User
    from lms.catalog import progress
    from lms.catalog.models import (
        CourseCompletion,
        Lesson,
        LessonCompletion,
        Track,
        TrackCompletion,
    )
    from lms.core.jobs import commit
    from lms.extensions import db

    counter = [0]
    shown: list[str] = []

    def count(connection, cursor, statement, *rest):
        counter[0] += 1
        shown.append(" ".join(statement.split())[:160])

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
        user = db.session.scalar(select(User).where(User.email == args.email))
        secret = sessions.start(user)
        commit()
        tracks = progress.learner_tracks(user.id)
        open_track = next(t for t in tracks if t.next_lesson_slug and not t.locked_reason)
        track_slug, lesson_slug = open_track.slug, open_track.next_lesson_slug
        # For the last lesson, which completes its course and the track (and whatever
        # listens: certificates, onboarding evidence, readiness).
        version_lessons = db.session.execute(
            select(Lesson.id, Lesson.slug, Lesson.assessment_slug)
            .join(Track, Track.current_version_id == Lesson.track_version_id)
            .where(Track.slug == track_slug).order_by(Lesson.position)).all()
        last_lesson = version_lessons[-1]
        assigned = len(tracks)
        done = sum(t.done_lessons for t in tracks)
        user_id = user.id
        db.session.remove()

    # The session cookie as the browser holds it after signing in.
    with app.test_request_context():
        from flask import session

        session["_user_id"] = secret
        session["_fresh"] = True
        response = app.response_class()
        app.session_interface.save_session(app, session, response)
        cookie = response.headers["Set-Cookie"].split(";")[0]

    lesson_path = f"/tracks/{track_slug}/lessons/{lesson_slug}"
    pages = {
        "learning": "/learning",
        "track": f"/tracks/{track_slug}",
        "lesson": lesson_path,
    }
    # A CSRF token for Mark complete, from the lesson page as a browser gets it.
    headers: list = []
    status, body = call(app, environ_for(lesson_path, cookie=cookie), headers)
    # The page put the form's CSRF secret in the session cookie, when it was not there yet.
    cookie = next((value.split(";")[0] for name, value in headers if name == "Set-Cookie"),
                  cookie)
    token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', body)[1].decode()
    complete = environ_for(lesson_path + "/complete", method="POST", cookie=cookie,
                           form={"csrf_token": token})

    def undo_completion():
        with app.app_context():
            db.session.execute(delete(TrackCompletion).where(
                TrackCompletion.user_id == user_id,
                TrackCompletion.completed_at >= started))
            db.session.execute(delete(CourseCompletion).where(
                CourseCompletion.user_id == user_id,
                CourseCompletion.completed_at >= started))
            db.session.execute(delete(LessonCompletion).where(
                LessonCompletion.user_id == user_id,
                LessonCompletion.completed_at >= started))
            commit()

    def all_but_the_last_lesson_done():
        with app.app_context():
            done_ids = set(db.session.scalars(select(LessonCompletion.lesson_id).where(
                LessonCompletion.user_id == user_id)))
            missing = [{"user_id": user_id, "lesson_id": lesson.id, "completed_at": clock.now()}
                       for lesson in version_lessons[:-1] if lesson.id not in done_ids]
            if missing:
                db.session.execute(insert(LessonCompletion), missing)
            commit()

    def undo_then_all_but_the_last():
        undo_completion()
        all_but_the_last_lesson_done()

    complete_last = environ_for(f"/tracks/{track_slug}/lessons/{last_lesson.slug}/complete",
                                method="POST", cookie=cookie, form={"csrf_token": token})

    from lms.core import clock

    started = clock.now()
    bare_json = bare_app.create_app()
    bare_html = bare_html_app()
    bare_json_env = environ_for("/api/v1/certificates/KPA-0000-0000-0000")
    bare_html_env = environ_for("/learning")

    if args.statements:
        posts = {"complete": complete, "last": complete_last}
        env = posts.get(args.statements) or environ_for(pages[args.statements], cookie=cookie)
        if args.statements == "last":
            all_but_the_last_lesson_done()
        call(app, env)
        if args.statements in posts:  # so the POST below records the lesson again
            undo_then_all_but_the_last() if args.statements == "last" else undo_completion()
        shown.clear()
        status, _ = call(app, env)
        print(f"{status}: {len(shown)} statements")
        print("\n".join(shown))
        if args.statements in posts:
            undo_completion()
        return
    if args.profile:
        env = complete if args.profile == "complete" else environ_for(pages[args.profile],
                                                                     cookie=cookie)
        expect = 303 if args.profile == "complete" else 200
        measure(app, env, 20, expect=expect,
                between=undo_completion if args.profile == "complete" else None)
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        measure(app, env, args.runs if expect == 200 else args.posts, expect=expect,
                between=undo_completion if args.profile == "complete" else None)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(35)
        lines = int(os.environ.get("PROFILE_LINES", "45"))
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(lines)
        return

    print(f"database: {url.split('://')[0]}; learner {args.email}: {assigned} tracks, "
          f"{done} lessons done; {args.runs} requests per page, {args.posts} posts")
    results = {}
    for _ in range(2):  # a warm-up round, then the measured one
        results["bare JSON route"] = measure(bare_json, bare_json_env, args.runs, expect=200)
        results["bare HTML route"] = measure(bare_html, bare_html_env, args.runs, expect=200)
        for name, path in pages.items():
            results[name] = measure(app, environ_for(path, cookie=cookie), args.runs,
                                    expect=200, counter=counter)
        results["mark complete (POST)"] = measure(app, complete, args.posts, expect=303,
                                                  counter=counter, between=undo_completion)
        if last_lesson.assessment_slug is None:
            all_but_the_last_lesson_done()
            results["… the last lesson"] = measure(
                app, complete_last, args.posts, expect=303, counter=counter,
                between=undo_then_all_but_the_last)
            undo_completion()
    bare = results["bare HTML route"]["cpu"]
    print(f"{'request':24} {'wall median':>12} {'CPU mean':>10} {'statements':>11} "
          f"{'CPU / bare HTML':>16}")
    for name, result in results.items():
        print(f"{name:24} {result['wall'] * 1000:10.2f}ms {result['cpu'] * 1000:8.2f}ms "
              f"{result['statements']:>11} {result['cpu'] / bare:15.1f}x")


if __name__ == "__main__":
    main()
