"""The learner's side: My learning, track outlines, the lesson player; the author catalogue."""

from __future__ import annotations

import re

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import undefer

from lms.accounts import service as accounts
from lms.accounts.permissions import require
from lms.catalog import assignments, progress, service
from lms.catalog.models import Asset, Lesson, Track, TrackVersion
from lms.core import tallies
from lms.core.downloads import serve_upload
from lms.core.errors import DomainError, NotFound
from lms.core.jobs import commit
from lms.extensions import db

bp = Blueprint("catalog", __name__)


@bp.route("/learning")
@require("learn")
def my_learning():
    tracks = progress.learner_tracks(current_user.id)
    summary = {
        "assigned": len(tracks),
        "completed": sum(t.status == "completed" for t in tracks),
        "overdue": sum(t.overdue for t in tracks),
        "minutes_left": sum(round(t.estimated_minutes * (100 - t.percent) / 100)
                            for t in tracks if t.status != "completed"),
    }
    return render_template("catalog/my_learning.html", tracks=tracks, summary=summary)


def _outline_for_viewer(slug: str) -> progress.TrackOutline:
    """Learners see tracks assigned to them; vendor staff may preview any live track."""
    outline = progress.live_outline(current_user, slug)
    _check_viewer(outline)
    return outline


def _check_viewer(outline: progress.TrackOutline) -> None:
    if outline.assignment is None and not current_user.is_vendor_staff:
        raise NotFound("This track is not assigned to you.")


@bp.route("/tracks/<slug>")
@login_required
def track(slug: str):
    outline = _outline_for_viewer(slug)
    return render_template("catalog/track.html", outline=outline)


@bp.route("/tracks/<slug>/lessons/<lesson_slug>")
@login_required
def lesson(slug: str, lesson_slug: str):
    outline, page = progress.live_lesson(current_user, slug, lesson_slug)
    _check_viewer(outline)
    state = outline.state_of(lesson_slug)
    if state.locked_reason and not current_user.is_vendor_staff:
        return render_template("catalog/locked.html", outline=outline, state=state), 423
    lessons = outline.lessons
    index = lessons.index(state)
    return render_template(
        "catalog/lesson.html", outline=outline, state=state, page=page,
        previous=lessons[index - 1] if index > 0 else None,
        following=lessons[index + 1] if index + 1 < len(lessons) else None,
        video=video_embed(state.lesson.video_url),
    )


@bp.route("/tracks/<slug>/lessons/<lesson_slug>/complete", methods=["POST"])
@require("learn")
def complete(slug: str, lesson_slug: str):
    try:
        done = service.complete_lesson(user=current_user, track_slug=slug,
                                       lesson_slug=lesson_slug)
    except DomainError:
        db.session.rollback()
        raise
    commit()
    if done.track_done:
        flash(f"Track complete: {done.track_title}. Well done!", "success")
        return redirect(url_for("catalog.track", slug=slug), code=303)
    if done.next_lesson_slug is not None:
        return redirect(url_for("catalog.lesson", slug=slug, lesson_slug=done.next_lesson_slug),
                        code=303)
    return redirect(url_for("catalog.track", slug=slug), code=303)


@bp.route("/assets/<sha256>/<path:filename>")
@login_required
def asset(sha256: str, filename: str):
    found = db.session.get(Asset, sha256, options=[undefer(Asset.data)])
    if found is None or found.filename != filename:
        raise NotFound("No such file.")
    return serve_upload(found.data, filename=found.filename, content_type=found.content_type)


@bp.route("/catalogue")
@require("read_catalogue")
def catalogue():
    """Every track with its current version, lesson count and audience (read-only)."""
    rows = db.session.execute(
        select(Track, TrackVersion).outerjoin(TrackVersion,
                                              TrackVersion.id == Track.current_version_id)
        .order_by(Track.archived_at.is_not(None), Track.slug)).all()
    lessons = dict(db.session.execute(
        select(Lesson.track_version_id, func.count()).group_by(Lesson.track_version_id)
    ).all())
    # Kept by the assignment writes: counting a row per person and track grew with the staff.
    assigned = tallies.by_scope(assignments.ASSIGNMENTS)
    vocab = {kind: accounts.term_names(kind)
             for kind in ("partner_type", "tier", "region", "job_role")}
    return render_template("catalog/catalogue.html", rows=rows, lessons=lessons,
                           assigned=assigned, vocab=vocab)


_YOUTUBE = re.compile(r"^https://(?:www\.)?(?:youtube\.com/watch\?v=|youtu\.be/)([\w-]{6,20})")
_VIMEO = re.compile(r"^https://(?:www\.)?vimeo\.com/(\d+)")


def video_embed(url: str | None) -> dict | None:
    """How to show a lesson's video: an embedded player for YouTube/Vimeo, else <video>."""
    if not url:
        return None
    if match := _YOUTUBE.match(url):
        return {"kind": "iframe", "src": f"https://www.youtube-nocookie.com/embed/{match[1]}",
                "url": url}
    if match := _VIMEO.match(url):
        return {"kind": "iframe", "src": f"https://player.vimeo.com/video/{match[1]}", "url": url}
    return {"kind": "video", "src": url, "url": url}
