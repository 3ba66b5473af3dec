"""Benchmark: the item-statistics page with 100,000 finished attempts.

The requirement is that the page "stays fast with 100,000 attempts". Item statistics are
kept as running sums: grading adds each attempt to `item_statistic` (per item: attempts,
answered, sum_x, sum_xx, sum_r, sum_rr, sum_xr, where x is the fraction of the item earned
and r the rest of the attempt's score) and to `option_statistic` (per option: chosen), and
`version_stats` reads those rows. This script builds that situation and measures it:

1. Creates the app against a database, migrates it to head with Alembic, and syncs the
   shipped content (`content/`), exactly like the test suite does.
2. Generates one organisation, N learners and N finished attempts of the shipped
   `technical-associate-exam` (20 items drawn per attempt: 5 from each of its 4 pools),
   with a response per drawn item. Answers come from a small ability/difficulty
   (2PL-style) model, so difficulty and discrimination vary from item to item. All rows go
   in with bulk Core inserts (executemany of dicts), one transaction per batch. While
   generating, it adds up in Python exactly what grading (`service._add_to_item_statistics`)
   would have added for those attempts, and writes `item_statistic` / `option_statistic`
   from that, so the sums match the attempts.
3. Times `lms.assessments.stats.version_stats(version)` (best and median of --runs, each
   in a fresh session) and counts its SQL statements, first after N/10 attempts and again
   after N, to show that it does not grow with the number of attempts.
4. In the same run, measures what it is compared with: the page budget (2.0 s) and the
   previous design's set-based scan (attempt -> attempt_item -> response, grouped by item,
   computing the same sums), timed at N/10 and at N.
5. Checks that difficulty and discrimination from `version_stats` equal those computed
   from the scan for every item (within 1e-9).
6. Measures the cost moved to grading: --graded learners each start, answer and submit an
   attempt through `lms.assessments.service` (committing like a request would), timing
   `submit()` + commit and, separately, `_add_to_item_statistics`. The checks of step 5 run
   again afterwards, and the option counts those attempts added are checked against their
   answers.

Prints a table and exits 1 if the best run of version_stats at N is over budget or a check
fails.

Run it from the project root:

    .venv/bin/python benchmarks/item_statistics.py                     # 100,000 attempts, SQLite
    .venv/bin/python benchmarks/item_statistics.py --attempts 20000    # quicker
    .venv/bin/python benchmarks/item_statistics.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/lms_bench

Without --database-url a fresh SQLite file in a temporary folder is used (and deleted
afterwards unless --keep). A PostgreSQL database that does not exist is created first.
The target database is WIPED (every table dropped, then migrated from scratch), so the
script refuses a database whose name does not contain "bench" unless --force is given.
--reuse skips wiping and generating when the database already holds exactly N generated
attempts and the running-sum tables (then there is no N/10 measurement).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

import flask_migrate  # noqa: E402
from sqlalchemy import delete, event, func, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from lms import create_app  # noqa: E402
from lms.accounts.models import Organisation, User  # noqa: E402
from lms.assessments import service  # noqa: E402
from lms.assessments.items import item_type  # noqa: E402
from lms.assessments.models import (  # noqa: E402
    Assessment,
    AssessmentItem,
    AssessmentVersion,
    Attempt,
    AttemptItem,
    ItemStatistic,
    OptionStatistic,
    Response,
)
from lms.assessments.stats import _pearson, version_stats  # noqa: E402
from lms.core.jobs import commit  # noqa: E402
from lms.extensions import db  # noqa: E402

CONTENT = PROJECT_ROOT / "content"
ASSESSMENT_SLUG = "technical-associate-exam"
BENCH_ORG = "Benchmark Partner"
TOLERANCE = 1e-9  # difficulty / discrimination: running sums vs the scan
SUMS = ("attempts", "answered", "sum_x", "sum_xx", "sum_r", "sum_rr", "sum_xr")


# --- database setup ----------------------------------------------------------------------------

def ensure_postgres_database(url: str) -> None:
    """CREATE DATABASE if it is missing, connecting to the server's `postgres` database."""
    from sqlalchemy import create_engine

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                       {"name": target.database})
            if not exists:
                connection.exec_driver_sql(f'CREATE DATABASE "{target.database}"')
                log(f"created database {target.database}")
    finally:
        admin.dispose()


def reset_database() -> None:
    """Drop everything, including Alembic's table, so `upgrade` starts clean (as the tests do)."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    else:
        # Every table in the file, also ones the current models no longer know (such as
        # response_choice from an older schema), with foreign keys off so order is moot.
        db.engine.dispose()
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("PRAGMA foreign_keys=OFF")
            tables = [row[0] for row in cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%'").fetchall()]
            for table in tables:
                cursor.execute(f'DROP TABLE "{table}"')
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("VACUUM")
            cursor.close()
        finally:
            raw.close()


def current_version() -> AssessmentVersion:
    assessment = db.session.scalar(select(Assessment).where(Assessment.slug == ASSESSMENT_SLUG))
    if assessment is None or assessment.current_version_id is None:
        sys.exit(f"the content has no assessment '{ASSESSMENT_SLUG}'")
    return db.session.get(AssessmentVersion, assessment.current_version_id)


def after_bulk_load() -> None:
    """PostgreSQL: move the sequences past the explicit ids, and analyse like autovacuum would."""
    if db.engine.dialect.name != "postgresql":
        return
    with db.engine.begin() as connection:
        for table in ("user_account", "attempt", "attempt_item", "response"):
            connection.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"))
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE")


# --- data generation ---------------------------------------------------------------------------

def answer_templates(item: AssessmentItem) -> list[tuple[dict, float, list[str]]]:
    """Plausible answers for an item: the right one first, then wrong or partly right ones.

    Each is (answer JSON as the service stores it, score from the item type, chosen options).
    """
    kind, d = item_type(item.item_type), item.definition
    candidates: list[dict] = []
    if item.item_type == "single_choice":
        right = next(o["id"] for o in d["options"] if o["correct"])
        candidates = [{"choice": right}] + [{"choice": o["id"]} for o in d["options"]
                                            if not o["correct"]]
    elif item.item_type == "multiple_response":
        right = [o["id"] for o in d["options"] if o["correct"]]
        wrong = [o["id"] for o in d["options"] if not o["correct"]]
        candidates = [{"choices": sorted(right)}]
        if len(right) > 1:
            candidates.append({"choices": sorted(right[1:])})
            candidates.append({"choices": sorted(right[:1])})
        for option in wrong[:2]:
            candidates.append({"choices": sorted(right + [option])})
            candidates.append({"choices": [option]})
        if wrong:
            candidates.append({"choices": sorted(right + wrong)})
    elif item.item_type == "true_false":
        right = "true" if d["answer"] else "false"
        candidates = [{"choice": right}, {"choice": "false" if d["answer"] else "true"}]
    elif item.item_type == "numeric":
        answer, tolerance = float(d["answer"]), float(d["tolerance"])
        candidates = [{"value": answer}, {"value": answer + tolerance + 1},
                      {"value": answer * 10 + 1}]
    elif item.item_type == "short_text":
        candidates = [{"text": d["accepted"][0]}, {"text": "I am not sure"},
                      {"text": d["accepted"][0][:-1] or "x"}]
    elif item.item_type == "ordering":
        ids = [entry["id"] for entry in d["entries"]]
        swapped = ids[:]
        swapped[0], swapped[1] = swapped[1], swapped[0]
        candidates = [{"order": ids}, {"order": swapped}, {"order": ids[::-1]},
                      {"order": ids[1:] + ids[:1]}]
    elif item.item_type == "matching":
        lefts = [p["left_id"] for p in d["pairs"]]
        rights = [p["right_id"] for p in d["pairs"]]
        swapped = rights[:]
        swapped[0], swapped[1] = swapped[1], swapped[0]
        candidates = [{"matches": dict(zip(lefts, rights, strict=True))},
                      {"matches": dict(zip(lefts, swapped, strict=True))},
                      {"matches": dict(zip(lefts, rights[1:] + rights[:1], strict=True))}]
    else:
        raise ValueError(f"unknown item type {item.item_type}")
    templates, seen = [], set()
    for index, answer in enumerate(candidates):
        key = json.dumps(answer, sort_keys=True)
        score = kind.score(d, answer)
        if key in seen or (index > 0 and score >= 1.0):
            continue
        seen.add(key)
        templates.append((answer, score, kind.chosen_options(d, answer)))
    assert templates[0][1] == 1.0, f"{item.item_key}: the right answer does not score 1"
    return templates


class ItemModel:
    """One item's parameters in the response model, and its precomputed answers/orders."""

    def __init__(self, item: AssessmentItem, rng: random.Random):
        self.id, self.points, self.type = item.id, item.points, item.item_type
        self.templates = answer_templates(item)
        self.wrong = self.templates[1:] or self.templates[:1]
        # 2PL with guessing: difficulty b, discrimination a, floor c.
        self.b = rng.uniform(-2.6, 2.8)
        self.a = rng.uniform(0.5, 2.2)
        options = len(item.definition.get("options", [])) or 2
        self.c = {"single_choice": 1 / options, "true_false": 0.5}.get(item.item_type, 0.0)
        ids = item_type(item.item_type).shuffle_ids(item.definition)
        self.orders = []
        for _ in range(6):
            rng.shuffle(ids)
            self.orders.append(list(ids))

    def p_right(self, theta: float) -> float:
        return self.c + (1 - self.c) / (1 + math.exp(-self.a * (theta - self.b)))


def item_models(version: AssessmentVersion, rng: random.Random) -> dict[int, ItemModel]:
    items = list(db.session.scalars(select(AssessmentItem).where(
        AssessmentItem.assessment_version_id == version.id).order_by(AssessmentItem.position)))
    models = {item.id: ItemModel(item, rng) for item in items}
    # A few items that tell strong and weak learners apart poorly, so the flag shows up.
    for item_id in rng.sample(sorted(models), 3):
        models[item_id].a = 0.05
    return models


def next_id(model) -> int:
    return (db.session.scalar(select(func.max(model.id))) or 0) + 1


class Generator:
    """Inserts learners with graded attempts, adding up the sums grading would have kept."""

    def __init__(self, version: AssessmentVersion, batch: int, seed: int):
        self.rng = random.Random(seed)
        self.version = version
        self.batch = batch
        self.models = item_models(version, self.rng)
        self.pools = [rule["item_ids"] for rule in version.draw_rules]
        self.counts = [rule["count"] for rule in version.draw_rules]
        self.max_points = sum(self.models[pool[0]].points * count
                              for pool, count in zip(self.pools, self.counts, strict=True))
        assert all(len({self.models[i].points for i in pool}) == 1 for pool in self.pools), \
            "the generator assumes every item of a pool has the same points"
        organisation = Organisation(name=BENCH_ORG, name_key=BENCH_ORG.lower(),
                                    partner_type="reseller", tier="gold", region="emea")
        db.session.add(organisation)
        db.session.commit()
        self.org_id = organisation.id
        self.user_id, self.attempt_id = next_id(User), next_id(Attempt)
        self.attempt_item_id, self.response_id = next_id(AttemptItem), next_id(Response)
        # What service._add_to_item_statistics would have added up, attempt by attempt.
        self.sums = {item_id: [0, 0, 0.0, 0.0, 0.0, 0.0, 0.0] for item_id in self.models}
        self.chosen: dict[tuple[int, str], int] = {}
        self.base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=120)
        self.generated = 0
        self.seconds = 0.0

    def add(self, n: int) -> None:
        """Insert n more learners, each with one submitted attempt."""
        rng, version, models = self.rng, self.version, self.models
        started = time.perf_counter()
        target = self.generated + n
        while self.generated < target:
            size = min(self.batch, target - self.generated)
            users, attempts, attempt_items, responses = [], [], [], []
            for _ in range(size):
                theta = rng.gauss(0.3, 1.0)
                submitted = self.base + timedelta(seconds=rng.randrange(120 * 86400))
                started_at = submitted - timedelta(seconds=rng.randrange(300, 1800))
                users.append({"id": self.user_id,
                              "email": f"bench-learner-{self.user_id}@bench.example",
                              "full_name": f"Bench Learner {self.user_id}",
                              "password_hash": None, "role": "learner",
                              "organisation_id": self.org_id, "job_role": "technical",
                              "locale": "en", "active": True, "created_at": self.base})
                drawn = [i for pool, count in zip(self.pools, self.counts, strict=True)
                         for i in rng.sample(pool, count)]
                rng.shuffle(drawn)
                graded = []  # (item id, score, points), in position order like _grade
                total = 0.0
                for position, item_id in enumerate(drawn, start=1):
                    model = models[item_id]
                    if rng.random() < model.p_right(theta):
                        answer, score, chosen = model.templates[0]
                    else:
                        answer, score, chosen = rng.choice(model.wrong)
                    points = score * model.points
                    total += points
                    graded.append((item_id, score, points))
                    for option in chosen:
                        key = (item_id, option)
                        self.chosen[key] = self.chosen.get(key, 0) + 1
                    attempt_items.append({"id": self.attempt_item_id,
                                          "attempt_id": self.attempt_id,
                                          "assessment_item_id": item_id, "position": position,
                                          "option_order": rng.choice(model.orders)})
                    responses.append({"id": self.response_id,
                                      "attempt_item_id": self.attempt_item_id,
                                      "answer": answer, "saved_at": submitted, "score": score,
                                      "points": points})
                    self.attempt_item_id += 1
                    self.response_id += 1
                # Exactly the arithmetic of service._grade / _add_to_item_statistics: x is
                # the item's score, r the attempt's stored total (score_points, rounded to
                # 4 decimals) minus the item's points.
                score_points = round(total, 4)
                for item_id, x, points in graded:
                    r = score_points - points
                    s = self.sums[item_id]
                    s[0] += 1
                    s[1] += 1
                    s[2] += x
                    s[3] += x * x
                    s[4] += r
                    s[5] += r * r
                    s[6] += x * r
                percent = round(100 * total / self.max_points, 2)
                attempts.append({
                    "id": self.attempt_id, "public_id": f"bench-{self.attempt_id:012d}",
                    "user_id": self.user_id, "assessment_id": version.assessment_id,
                    "assessment_version_id": version.id, "number": 1,
                    "max_attempts": version.max_attempts, "status": "submitted",
                    "started_at": started_at,
                    "deadline_at": started_at + timedelta(minutes=version.time_limit_minutes)
                    if version.time_limit_minutes else None,
                    "submitted_at": submitted, "score_points": score_points,
                    "max_points": self.max_points, "percent": percent,
                    "passed": percent >= version.pass_mark})
                self.user_id += 1
                self.attempt_id += 1
            # Core executemany on the session's connection, one transaction per batch.
            connection = db.session.connection()
            connection.execute(insert(User), users)
            connection.execute(insert(Attempt), attempts)
            connection.execute(insert(AttemptItem), attempt_items)
            connection.execute(insert(Response), responses)
            db.session.commit()
            self.generated += size
            log(f"inserted {self.generated:,} attempts  "
                f"({self.seconds + time.perf_counter() - started:.0f} s)")
        self.write_statistics()
        after_bulk_load()
        self.seconds += time.perf_counter() - started

    def write_statistics(self) -> None:
        """Replace the running-sum tables with the sums added up so far."""
        connection = db.session.connection()
        connection.execute(delete(OptionStatistic))
        connection.execute(delete(ItemStatistic))
        connection.execute(insert(ItemStatistic), [
            {"assessment_item_id": item_id, **dict(zip(SUMS, s, strict=True))}
            for item_id, s in sorted(self.sums.items()) if s[0]])
        connection.execute(insert(OptionStatistic), [
            {"assessment_item_id": item_id, "option_id": option, "chosen": count}
            for (item_id, option), count in sorted(self.chosen.items())])
        db.session.commit()


# --- what is measured --------------------------------------------------------------------------

class StatementTimer:
    """Counts the statements sent and how long each took (cursor execute to return)."""

    def __init__(self):
        self.statements: list[tuple[str, float]] = []
        self._started: list[float] = []

    def before(self, conn, cursor, statement, parameters, context, executemany):
        self._started.append(time.perf_counter())

    def after(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append((statement, time.perf_counter() - self._started.pop()))

    def __enter__(self):
        event.listen(db.engine, "before_cursor_execute", self.before)
        event.listen(db.engine, "after_cursor_execute", self.after)
        return self

    def __exit__(self, *exc):
        event.remove(db.engine, "before_cursor_execute", self.before)
        event.remove(db.engine, "after_cursor_execute", self.after)


def time_version_stats(version_id: int, runs: int, label: str) -> dict:
    """Best/median of `runs` calls, each in a fresh session as a request would have."""
    timings, splits, result, statements = [], [], None, 0
    for run in range(runs):
        db.session.remove()
        version = db.session.get(AssessmentVersion, version_id)
        with StatementTimer() as timer:
            started = time.perf_counter()
            result = version_stats(version)
            timings.append(time.perf_counter() - started)
        statements = len(timer.statements)
        # Split: queries on `attempt` (count, pass, mean, bands) vs everything else.
        on_attempts = sum(t for sql, t in timer.statements if "FROM attempt" in sql)
        splits.append((on_attempts, sum(t for _, t in timer.statements) - on_attempts))
        log(f"version_stats at {label}, run {run + 1}: {timings[-1]:.4f} s")
    db.session.remove()
    best = min(range(runs), key=timings.__getitem__)
    return {"timings": timings, "best": timings[best], "median": statistics.median(timings),
            "split": splits[best], "statements": statements, "stats": result}


def scan_query(version_id: int):
    """The previous design's per-item sums: every response of every finished attempt."""
    x = func.coalesce(Response.score, 0.0)
    rest = Attempt.score_points - func.coalesce(Response.points, 0.0)
    return (select(AttemptItem.assessment_item_id, func.count(), func.count(Response.id),
                   func.sum(x), func.sum(x * x), func.sum(rest), func.sum(rest * rest),
                   func.sum(x * rest))
            .join(Attempt, Attempt.id == AttemptItem.attempt_id)
            .outerjoin(Response, Response.attempt_item_id == AttemptItem.id)
            .where(Attempt.assessment_version_id == version_id,
                   Attempt.status != "in_progress")
            .group_by(AttemptItem.assessment_item_id))


def time_scan(version_id: int, runs: int, label: str) -> dict:
    timings, rows = [], []
    for run in range(runs):
        db.session.remove()
        started = time.perf_counter()
        rows = db.session.execute(scan_query(version_id)).all()
        timings.append(time.perf_counter() - started)
        log(f"old scan at {label}, run {run + 1}: {timings[-1]:.3f} s")
    db.session.remove()
    return {"timings": timings, "best": min(timings), "median": statistics.median(timings),
            "rows": rows}


def compare(stats, rows) -> dict:
    """Largest differences between version_stats (running sums) and sums from a scan."""
    by_item = {row[0]: row[1:] for row in rows}
    worst = {"difficulty": 0.0, "discrimination": 0.0, "counts": 0, "items": 0}
    for stat in stats.items:
        if stat.item.id not in by_item:
            worst["counts"] += stat.answered != 0
            continue
        n, answered, sx, sxx, sr, srr, sxr = by_item.pop(stat.item.id)
        worst["items"] += 1
        worst["counts"] += answered != stat.answered
        pairs = (("difficulty", stat.difficulty, sx / n if n else None),
                 ("discrimination", stat.discrimination, _pearson(n, sx, sxx, sr, srr, sxr)))
        for key, ours, theirs in pairs:
            if (ours is None) != (theirs is None):
                worst[key] = math.inf
            elif ours is not None:
                worst[key] = max(worst[key], abs(ours - theirs))
    worst["counts"] += len(by_item)  # items the scan saw and the sums did not
    worst["ok"] = (worst["counts"] == 0 and worst["difficulty"] <= TOLERANCE
                   and worst["discrimination"] <= TOLERANCE)
    return worst


def check(stats, scan_rows, label: str) -> dict:
    log(f"checking version_stats against the old scan ({label}) ...")
    return compare(stats, scan_rows)


def describe(result: dict) -> str:
    return (f"max |d difficulty| {result['difficulty']:.1e}, "
            f"max |d discrimination| {result['discrimination']:.1e} over {result['items']} "
            f"items, answered-count mismatches {result['counts']}: "
            f"{'within' if result['ok'] else 'OVER'} {TOLERANCE:.0e}")


def measure_grading(version_id: int, count: int, seed: int) -> dict:
    """Start, answer and submit `count` attempts through the service, one learner each."""
    rng = random.Random(seed + 1)
    version = db.session.get(AssessmentVersion, version_id)
    models = item_models(version, random.Random(seed))
    definitions = {item.id: item.definition for item in version.items}
    organisation = db.session.scalar(select(Organisation).where(Organisation.name == BENCH_ORG))
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    users = [User(email=f"graded-{stamp}-{i}@bench.example", full_name=f"Graded Learner {i}",
                  role="learner", organisation_id=organisation.id, job_role="technical")
             for i in range(count)]
    db.session.add_all(users)
    db.session.commit()
    user_ids = [user.id for user in users]
    before = dict(((row.assessment_item_id, row.option_id), row.chosen)
                  for row in db.session.scalars(select(OptionStatistic)))
    db.session.remove()

    original = service._add_to_item_statistics
    sums_seconds: list[float] = []
    sums_in_database: list[float] = []  # of that, cursor execute (the rest is SQLAlchemy)

    def timed_add(*args, **kwargs):
        with StatementTimer() as timer:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                sums_seconds.append(time.perf_counter() - started)
                sums_in_database.append(sum(t for _, t in timer.statements))

    answering, submitting, statements, public_ids = [], [], 0, []
    service._add_to_item_statistics = timed_add
    try:
        for index, user_id in enumerate(user_ids, start=1):
            user = db.session.get(User, user_id)
            theta = rng.gauss(0.3, 1.0)
            started = time.perf_counter()
            attempt = service.start_attempt(user, ASSESSMENT_SLUG)
            commit()
            for attempt_item in db.session.scalars(select(AttemptItem).where(
                    AttemptItem.attempt_id == attempt.id).order_by(AttemptItem.position)):
                model = models[attempt_item.assessment_item_id]
                answer = model.templates[0][0] if rng.random() < model.p_right(theta) \
                    else rng.choice(model.wrong)[0]
                form = item_type(model.type).form_values(answer)
                service.save_answer(attempt, attempt_item.position, form)
                commit()  # each answer is its own request
            answering.append(time.perf_counter() - started)
            attempt_id = attempt.id
            db.session.remove()  # submitting is a new request
            attempt = db.session.get(Attempt, attempt_id)
            with StatementTimer() as timer:
                started = time.perf_counter()
                service.submit(attempt)
                commit()
                submitting.append(time.perf_counter() - started)
            statements += len(timer.statements)
            assert attempt.status == "submitted", attempt.status
            public_ids.append(attempt.public_id)
            db.session.remove()
            if index % 50 == 0 or index == count:
                log(f"graded {index} / {count} attempts through the service")
    finally:
        service._add_to_item_statistics = original

    # The option counts these attempts added must be exactly the options their answers chose.
    expected = dict(before)
    for item_id, answer in db.session.execute(
            select(AttemptItem.assessment_item_id, Response.answer)
            .join(Response, Response.attempt_item_id == AttemptItem.id)
            .join(Attempt, Attempt.id == AttemptItem.attempt_id)
            .where(Attempt.public_id.in_(public_ids))):
        kind = item_type(models[item_id].type)
        for option in kind.chosen_options(definitions[item_id], answer):
            expected[(item_id, option)] = expected.get((item_id, option), 0) + 1
    after = dict(((row.assessment_item_id, row.option_id), row.chosen)
                 for row in db.session.scalars(select(OptionStatistic)))
    db.session.remove()
    return {"answering": answering, "submitting": submitting, "sums": sums_seconds,
            "sums_in_database": sums_in_database,
            "statements": statements / count, "options_ok": expected == after}


# --- running it --------------------------------------------------------------------------------

def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def ms(seconds: list[float]) -> str:
    return (f"median {1000 * statistics.median(seconds):.2f} ms, "
            f"mean {1000 * statistics.fmean(seconds):.2f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attempts", type=int, default=100_000,
                        help="finished attempts to generate (default 100000)")
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temp folder")
    parser.add_argument("--runs", type=int, default=5,
                        help="timed runs of version_stats at each size (default 5)")
    parser.add_argument("--scan-runs", type=int, default=3,
                        help="timed runs of the old scan at each size (default 3)")
    parser.add_argument("--graded", type=int, default=200,
                        help="attempts graded through the service (default 200; 0 skips)")
    parser.add_argument("--budget", type=float, default=2.0, help="seconds (default 2.0)")
    parser.add_argument("--batch", type=int, default=5_000, help="attempts per insert batch")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--reuse", action="store_true",
                        help="keep the data if the database already holds N generated attempts")
    parser.add_argument("--keep", action="store_true", help="keep the temporary SQLite file")
    parser.add_argument("--force", action="store_true",
                        help="allow wiping a database whose name lacks 'bench'")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.scan_runs < 1 or args.attempts < 10:
        parser.error("need --runs >= 1, --scan-runs >= 1 and --attempts >= 10")

    if args.database_url:
        name = make_url(args.database_url).database or ""
        if "bench" not in name and not args.force:
            sys.exit(f"refusing to wipe '{name}': use a database whose name contains "
                     f"'bench' (e.g. lms_bench), or pass --force")
    folder = Path(tempfile.mkdtemp(prefix="lms-bench-"))
    url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
    target = make_url(url)
    if target.get_backend_name() == "postgresql":
        ensure_postgres_database(url)

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(folder / "instance"),
                      "SECRET_KEY": "benchmark", "CONTENT_PATH": str(CONTENT)})
    try:
        with app.app_context():
            return run(args, url)
    finally:
        if args.keep and not args.database_url:
            log(f"kept {folder / 'bench.db'}")
        else:
            shutil.rmtree(folder, ignore_errors=True)  # the temporary database and instance


def can_reuse(n: int) -> bool:
    try:
        version = current_version()
        existing = db.session.scalar(select(func.count()).select_from(Attempt).where(
            Attempt.assessment_version_id == version.id, Attempt.public_id.like("bench-%")))
        sums = db.session.scalar(select(func.count()).select_from(ItemStatistic))
        return existing == n and bool(sums)
    except Exception:  # noqa: BLE001  (no schema yet, or the schema before running sums)
        db.session.rollback()
        return False
    finally:
        db.session.remove()


def run(args, url: str) -> int:
    n, small = args.attempts, args.attempts // 10
    backend = db.engine.dialect.name
    log(f"database: {make_url(url).render_as_string(hide_password=True)}")
    reused = args.reuse and can_reuse(n)
    if args.reuse:
        log("reusing the generated data" if reused else "nothing to reuse; generating")
    at_small = scan_small = None
    generation = None
    if not reused:
        db.session.remove()
        reset_database()
        flask_migrate.upgrade()
        from lms.content import sync_all

        sync_all(str(CONTENT))
        commit()
        generator = Generator(current_version(), args.batch, args.seed)
        generator.add(small)
        version_id = generator.version.id
        at_small = time_version_stats(version_id, args.runs, f"{small:,}")
        scan_small = time_scan(version_id, args.scan_runs, f"{small:,}")
        generator.add(n - small)
        generation = generator.seconds
    version = current_version()
    version_id, version_number = version.id, version.number
    db.session.remove()

    at_n = time_version_stats(version_id, args.runs, f"{n:,}")
    scan_n = time_scan(version_id, args.scan_runs, f"{n:,}")
    checked = check(at_n["stats"], scan_n["rows"], "generated data")

    grading = graded_check = None
    if args.graded:
        grading = measure_grading(version_id, args.graded, args.seed)
        after = time_version_stats(version_id, 1, f"{n:,} + {args.graded} graded")
        db.session.remove()
        graded_check = check(after["stats"], db.session.execute(scan_query(version_id)).all(),
                             "after grading through the service")
        db.session.remove()

    responses = db.session.scalar(select(func.count()).select_from(Response))
    item_rows = db.session.scalar(select(func.count()).select_from(ItemStatistic))
    option_rows = db.session.scalar(select(func.count()).select_from(OptionStatistic))
    db.session.remove()

    stats = at_n["stats"]
    flagged = {flag: sum(flag in s.flags for s in stats.items)
               for flag in ("too easy", "too hard", "discriminates poorly")}
    fast = at_n["best"] <= args.budget
    correct = checked["ok"] and (graded_check is None or
                                 (graded_check["ok"] and grading["options_ok"]))
    verdict = "PASS" if fast and correct else "FAIL"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())

    def timing(result: dict) -> str:
        runs = ", ".join(f"{t:.4f}" for t in result["timings"])
        return (f"{result['best']:.4f} s / {result['median']:.4f} s  (runs: {runs}); "
                f"{result['statements']} statements; best run's SQL: "
                f"{result['split'][0]:.4f} s on `attempt`, {result['split'][1]:.4f} s on the rest")

    def scan(result: dict) -> str:
        runs = ", ".join(f"{t:.3f}" for t in result["timings"])
        return f"{result['best']:.3f} s / {result['median']:.3f} s  (runs: {runs})"

    rows = [
        ("database", backend),
        ("machine", f"{os.cpu_count()} CPUs, load average {load} (1/5/15 min) at the end"),
        ("attempts generated (finished)", f"{n:,}"),
        ("responses (after service grading)", f"{responses:,}"),
        ("item_statistic / option_statistic rows", f"{item_rows} / {option_rows}"),
        ("data generation", "reused" if reused else f"{generation:.1f} s"),
        ("pass rate / mean percent", f"{stats.pass_rate:.1%} / {stats.mean_percent:.1f}%"),
        ("items flagged", ", ".join(f"{k}: {v}" for k, v in flagged.items())),
    ]
    if at_small:
        rows.append((f"NEW version_stats at {small:,}, best / median", timing(at_small)))
    rows.append((f"NEW version_stats at {n:,}, best / median", timing(at_n)))
    if scan_small:
        rows.append((f"OLD scan query at {small:,}, best / median", scan(scan_small)))
    rows += [
        (f"OLD scan query at {n:,}, best / median", scan(scan_n)),
        (f"old scan / new read at {n:,} (best)", f"{scan_n['best'] / at_n['best']:,.0f}x"),
        ("check vs old scan (generated data)", describe(checked)),
    ]
    if grading:
        sums, submitting = grading["sums"], grading["submitting"]
        rows += [
            (f"service: start + 20 saves, {len(grading['answering'])} attempts",
             ms(grading["answering"]) + " per attempt (21 commits)"),
            ("service: submit() + commit per attempt",
             f"{ms(submitting)}; {grading['statements']:.1f} statements"),
            ("  of which _add_to_item_statistics",
             f"{ms(sums)} ({statistics.fmean(sums) / statistics.fmean(submitting):.0%} "
             f"of submit + commit)"),
            ("    of which executing its 2 upserts", ms(grading["sums_in_database"])
             + "; the rest is Python (rows, statement, ORM)"),
            ("check vs old scan after service grading", describe(graded_check)),
            ("option counts added by service grading",
             "match the answers" if grading["options_ok"] else "MISMATCH"),
        ]
    rows += [
        ("budget (version_stats at N, best run)", f"{args.budget:.1f} s"),
        ("checks", "pass" if correct else "FAIL"),
        ("result (best <= budget, checks pass)", verdict),
    ]
    width = max(len(label) for label, _ in rows)
    print(f"\nItem statistics benchmark: {ASSESSMENT_SLUG}, version {version_number}")
    print("-" * (width + 60))
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    print("-" * (width + 60))
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
