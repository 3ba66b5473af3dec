"""No input makes the app answer 5xx: every route in the url map, for every role, with a
catalogue of hostile values in its path, its query string, its form fields and a JSON body.

A new route is walked without a line here: the walk reads the url map, derives the query
parameters a view reads and the form fields it validates from the view's code, and takes
valid identifiers for the path from one small world, so hostile values reach past the
"no such record" check. Each class of value is sent once per field, not in every
combination, so the walk stays fast enough to run on SQLite and PostgreSQL in CI.
"""

from __future__ import annotations

import inspect
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import FunctionType

import pytest
from flask_wtf import FlaskForm
from wtforms.fields.core import UnboundField
from wtforms.fields.simple import FileField as PlainFileField

from lms.assessments import service as assessments
from lms.catalog.models import Asset
from lms.extensions import db
from lms.journeys import service as journeys
from lms.scorecard import periods, tokens, webhooks
from tests.certifications.support import insert_certificate
from tests.factories import login, make_organisation, make_user
from tests.journeys.support import milestone, org_journey
from tests.scorecard.support import put_values

ROLES = ("anonymous", "learner", "partner_admin", "vendor_admin", "author", "channel_manager")

BIG = "9" * 400  # far beyond any integer column, and beyond a float
# Every class of hostile value, each with what it is for the failure list.
INT_PATH_VALUES = ("2147483648", "9223372036854775808", BIG)
TEXT_PATH_VALUES = ("%00", "a" * 300, "%ED%A0%80", "%C2%B2", "..%2F..%2Fetc%2Fpasswd")
QUERY_VALUES = ("2147483648", BIG, "²", "-1", "\x00", "10000-01-01", "9999-12-31",
                "0000-00-00", "x" * 3000, "1e400")
# Values tried in one field at a time: NUL and sheer length are refused before any view runs
# (the request hook, the database's column types), so they go in every field at once only.
ONE_FIELD_VALUES = ("2147483648", BIG, "²", "-1", "10000-01-01", "9999-12-31", "0001-01-01")
ALL_FIELDS_VALUES = ("\x00", "x" * 5000, "²")
URL_VALUES = ("http://[::1", "http://[fe80::1%eth0]:x/", "https://127.0.0.1/hook",
              "https://" + "a" * 300 + ".example/")
JSON_BODIES = (
    "[" * 100_000 + "]" * 100_000,
    '{"ids": ' + "[" * 5000 + "]" * 5000 + "}",
    '{"values": ' + "[{" * 3000 + "}]" * 3000 + "}",
    '{"ids": ["\\u0000"], "values": [{"partner": "a\\u0000", "metric": "x\\u0000", '
    '"value": 1, "as_of": "2026-01-01"}]}',
    '{"ids": ["\\ud800"], "values": [{"partner": "\\udfff", "metric": "pipeline_velocity", '
    '"value": 1, "as_of": "2026-01-01"}], "source_name": "\\ud800"}',
    '{"ids": [' + BIG + '], "values": [{"partner_id": ' + BIG + ', "metric": '
    '"pipeline_velocity", "value": ' + BIG + ', "as_of": "2026-01-01"}]}',
    '{"values": [{"partner_id": 2147483648, "metric": "pipeline_velocity", "value": 1e400, '
    '"as_of": "10000-01-01"}]}',
    '{"values": [{"partner_id": 1, "metric": "pipeline_velocity", "value": NaN, '
    '"as_of": "9999-12-31"}], "source_name": ' + BIG + "}",
    '{"ids": "x", "values": "x"}',
    # One hostile value each, so that none is hidden behind another's refusal.
    '{"values": [{"partner_id": 2147483648, "metric": "pipeline_velocity", "value": 1, '
    '"as_of": "2026-01-01"}]}',
    '{"values": [{"partner_id": "²", "metric": "pipeline_velocity", "value": "²", '
    '"as_of": "2026-01-01"}]}',
    '{"values": [{"partner": "x", "metric": "pipeline_velocity", "value": 1, '
    '"as_of": "10000-01-01"}]}',
    '{"values": [{"partner": "x", "metric": "pipeline_velocity", "value": 1, '
    '"as_of": "9999-12-31"}]}',
    '{"values": [{"partner": "' + "p" * 5000 + '", "metric": "' + "m" * 5000 + '", '
    '"value": 1, "as_of": "2026-01-01"}], "source_name": "' + "s" * 5000 + '"}',
    "\x00",
)
# A file name longer than any column keeps, on every form with a file field.
LONG_FILE_NAME = "f" * 300 + ".csv"


@dataclass
class Failure:
    role: str
    method: str
    url: str
    what: str
    status: str

    def __str__(self) -> str:
        return f"{self.status} {self.role:>15} {self.method} {self.url[:100]} [{self.what}]"


@dataclass
class Walk:
    client: object
    world: dict
    role: str
    failures: list[Failure] = field(default_factory=list)
    sent: int = 0

    def reaches(self, method: str, url: str, headers: dict) -> tuple[bool, str]:
        """Whether the view itself runs for this role (not refused, not sent to sign in),
        and the page it answered."""
        response = self.client.open(url, method=method, headers=headers)
        if response.status_code in (401, 403, 404, 405):
            return False, ""
        refused = response.status_code in (301, 302, 303) \
            and "/login" in response.headers.get("Location", "")
        return not refused, response.get_data().decode("utf-8", "replace")

    def send(self, method: str, url: str, what: str, **kwargs) -> None:
        self.sent += 1
        try:  # the test app propagates exceptions instead of answering 500
            status = self.client.open(url, method=method, **kwargs).status_code
        except Exception as error:  # noqa: BLE001  (every one is a failure to list)
            status = f"{type(error).__name__}: {str(error)[:150]!r}"
        if not isinstance(status, int) or status >= 500:
            self.failures.append(Failure(self.role, method, url, what, str(status)))
        if url.startswith("/logout") and self.role != "anonymous":
            login(self.client, self.world["users"][self.role])  # keep walking as the role


# --- the world: one valid value for every path parameter -----------------------------------


@pytest.fixture
def world(app, frozen_clock):
    partner = make_organisation("Hostile Walk Partner")
    users = {role: make_user(partner if role in ("learner", "partner_admin") else None,
                             role=role) for role in ROLES if role != "anonymous"}
    staff = make_user(partner, full_name="Target Person")  # changed by the walk, not a role
    org = org_journey(partner)
    signed = milestone(org, "joint-business-plan")
    journeys.sign_off(signed.id, actor=users["partner_admin"], upload=journeys.Upload(
        "plan.pdf", "application/pdf", b"%PDF plan"))
    open_milestone = next(m for m in org.milestones if m.done_at is None and m.kind == "manual"
                          and m.owner == "partner_admin")
    certificate = insert_certificate(users["learner"], "technical-associate",
                                     issued_at=frozen_clock)
    # In progress, so hostile answers reach the item types' parsing of them.
    attempt = assessments.start_attempt(users["learner"], "technical-associate-exam")
    record = put_values(partner, {"pipeline_velocity": 4200})
    _, starts_on, _ = periods.open_periods(frozen_clock.date(), "quarter", set())[0]
    period = periods.close(starts_on, actor_id=users["vendor_admin"].id)
    endpoint = webhooks.create_endpoint(url="https://hooks.example.com/in", actor_id=None)
    revocable, _ = tokens.create(user_id=users["vendor_admin"].id, name="to revoke")
    _, secret = tokens.create(user_id=users["vendor_admin"].id, name="walk")
    asset = db.session.scalar(db.select(Asset).limit(1))
    db.session.flush()
    values = {
        "organisation_id": partner.id, "user_id": staff.id, "journey_id": org.id,
        "milestone_id": open_milestone.id, "certificate_id": certificate.id,
        "import_id": record.id, "period_id": period.id,
        "endpoint_id": endpoint.id, "token_id": revocable.id, "position": 1,
        "slug": "partner-onboarding-essentials", "lesson_slug": "partner-program-overview",
        "fmt": "csv", "token": "no-such-token", "filename": "app.css",
        "sha256": asset.sha256 if asset else "0" * 64,
    }
    return {"users": users, "values": values, "certificate": certificate,
            "attempt": attempt, "evidence_milestone": signed.id,
            "asset_name": asset.filename if asset else "file.bin",
            "api": {"Authorization": f"Bearer {secret}"}}


def _valid(rule, arg: str, world: dict) -> str:
    values = world["values"]
    if arg not in values and arg != "public_id":
        pytest.fail(f"give the walk a valid <{arg}> for {rule.rule} in its world")
    if arg == "public_id":
        if rule.rule.startswith("/attempts/"):
            return world["attempt"].public_id
        return world["certificate"].public_id
    if arg == "milestone_id" and rule.endpoint == "journeys.evidence":
        return str(world["evidence_milestone"])
    if arg == "filename" and rule.endpoint == "catalog.asset":
        return world["asset_name"]
    return str(values[arg])


# --- what a view reads: derived from its code ----------------------------------------------


def _code_of(view) -> list[tuple[FunctionType, str]]:
    """The view and the module-level helpers it calls, with their source."""
    seen, found, stack = set(), [], [inspect.unwrap(view)]
    while stack:
        function = stack.pop()
        if function in seen or not isinstance(function, FunctionType):
            continue
        seen.add(function)
        try:
            found.append((function, inspect.getsource(function)))
        except OSError:
            continue
        names = set(function.__code__.co_names)
        for const in function.__code__.co_consts:
            if inspect.iscode(const):
                names |= set(const.co_names)
        for name in names:
            target = function.__globals__.get(name)
            if isinstance(target, FunctionType) and target.__module__.startswith("lms"):
                stack.append(target)
    return found


QUERY_NAME = re.compile(r"""(?:request\.)?args\.get(?:list)?\(\s*["']([\w-]+)["']""")
FORM_NAME = re.compile(r"""request\.form\.get(?:list)?\(\s*["']([\w-]+)["']""")
FORM_CLASS = re.compile(r"""\b([A-Z]\w*Form)\(([^()]*)\)""")
PREFIX = re.compile(r"""prefix=(f?)["']([^"']*)["']""")
ACTION = re.compile(r"""action (?:==|in) \(?((?:["'][\w-]+["'],?\s*)+)""")
GENERIC_QUERY = ("page", "id", "q", "organisation", "partner_id", "status", "sort")
# Where a role cannot reach a view, only what runs before it (routing, request hooks) can
# fail: one value of each kind is enough there.
UNREACHABLE_VALUES = ("\x00", BIG, "²")


def query_names(view) -> list[str]:
    return sorted({name for _, source in _code_of(view) for name in QUERY_NAME.findall(source)})


def _all_query_names() -> list[str]:
    import lms

    names = set()
    for path in Path(lms.__file__).parent.rglob("*.py"):
        names |= set(QUERY_NAME.findall(path.read_text(encoding="utf-8")))
    return sorted(names)


ALL_QUERY_NAMES = _all_query_names()


def _baseline(unbound: UnboundField) -> str | None:
    kind = unbound.field_class.__name__
    if issubclass(unbound.field_class, PlainFileField):
        return None
    choices = unbound.kwargs.get("choices")
    if choices:
        first = choices[0]
        return str(getattr(first, "value", first[0] if isinstance(first, tuple) else first))
    return {"EmailField": "walk@example.com", "PasswordField": "a-long-enough-password",
            "DateField": "2026-12-31", "BooleanField": "y", "SelectField": "1",
            "IntegerField": "1"}.get(kind, "Hostile walk")


@dataclass
class FormShape:
    fields: dict[str, str | None]  # name -> a plausible value (None: a file field)
    actions: list[str]


def form_shape(view, path_values: dict[str, str]) -> FormShape:
    fields: dict[str, str | None] = {}
    actions: list[str] = []
    for function, source in _code_of(view):
        for name in FORM_NAME.findall(source):
            fields.setdefault(name, "Hostile walk")
        for choices in ACTION.findall(source):
            actions += re.findall(r"[\w-]+", choices)
        for class_name, arguments in FORM_CLASS.findall(source):
            form_class = function.__globals__.get(class_name)
            if not (inspect.isclass(form_class) and issubclass(form_class, FlaskForm)):
                continue
            prefix = ""
            found = PREFIX.search(arguments)
            if found:
                # f"m{milestone.id}": the record in the path is the one the form is for.
                prefix = re.sub(r"\{[^}]*\}", next(iter(path_values.values()), "1"),
                                found.group(2)) + "-"
            for name, unbound in inspect.getmembers(
                    form_class, lambda member: isinstance(member, UnboundField)):
                fields.setdefault(prefix + name, _baseline(unbound))
    fields.pop("action", None)
    return FormShape(fields, sorted(set(actions)) or [""])


SELECT = re.compile(r'<select[^>]*\bname="([^"]+)"[^>]*>(.*?)</select>', re.S)
OPTION = re.compile(r'<option[^>]*\bvalue="([^"]+)"')


INPUT = re.compile(r'<(?:input|textarea)\b([^>]*)>')
ATTRIBUTE = re.compile(r'\b(name|value|type)="([^"]*)"')


def _page_fields(page: str) -> dict[str, str]:
    """What the page's own forms would send: the first value of every field on it (fields
    that are no WTForms field, such as an answer to a question, are found here)."""
    found = {}
    for attributes in INPUT.findall(page):
        attrs = dict(ATTRIBUTE.findall(attributes))
        name = attrs.get("name")
        if name and name != "csrf_token" and attrs.get("type") not in ("submit", "file"):
            found.setdefault(name, attrs.get("value") or "Hostile walk")
    for name, options in SELECT.findall(page):
        first = OPTION.search(options)
        if first:
            found[name] = first.group(1)
    return found


# --- the walk ------------------------------------------------------------------------------


def _url(rule, values: dict[str, str]) -> str:
    url = rule.rule
    for arg, value in values.items():
        url = re.sub(r"<(?:[^<>:]+:)?" + arg + r">", value, url)
    return url


def walk_rule(walk: Walk, rule, view) -> None:
    args = sorted(rule.arguments)
    valid = {arg: _valid(rule, arg, walk.world) for arg in args}
    methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
    method = "GET" if "GET" in methods else methods[0]
    headers = walk.world["api"] if rule.rule.startswith("/api/") \
        and walk.role != "anonymous" else {}
    url = _url(rule, valid)

    for arg in args:
        converter = type(rule._converters[arg]).__name__
        if converter == "AnyConverter":
            continue
        hostile = INT_PATH_VALUES if "Integer" in converter or "Int" in converter \
            else TEXT_PATH_VALUES
        for value in hostile:
            walk.send(method, _url(rule, {**valid, arg: value}), f"path {arg}",
                      headers=headers)

    reachable, page = walk.reaches(method, url, headers)
    if "GET" in methods:
        # Every name the app reads at once, then, where the view can run, each of its own
        # names alone (so one refused parameter cannot hide another's crash).
        every_name = {name: "" for name in (*ALL_QUERY_NAMES, *GENERIC_QUERY)}
        for value in QUERY_VALUES if reachable else UNREACHABLE_VALUES:
            walk.send("GET", url, "query (all names)",
                      query_string={name: value for name in every_name}, headers=headers)
        if reachable:
            for name in query_names(view):
                for value in ONE_FIELD_VALUES:
                    walk.send("GET", url, f"query {name}", query_string={name: value},
                              headers=headers)

    if "POST" not in methods:
        return
    if rule.rule.startswith("/api/"):
        for body in JSON_BODIES:
            walk.send("POST", url, f"json {body[:40]!r}", data=body.encode(
                "utf-8", "surrogatepass"), content_type="application/json", headers=headers)
        return
    shape = form_shape(view, valid)
    if not reachable or method != "POST":
        reachable = walk.reaches("POST", url, headers)[0]
    # Where the view's own page shows the form: its real choices, and fields no form class
    # declares (answers to a question).
    offered = _page_fields(page) if method == "GET" else {}
    for action in shape.actions:
        base = {name: offered.get(name, value) for name, value in shape.fields.items()
                if value is not None}
        base.update({name: value for name, value in offered.items()
                     if name not in shape.fields and name != "action"})
        if action:
            base["action"] = action
        files = [name for name, value in shape.fields.items() if value is None]
        if not reachable:
            for value in UNREACHABLE_VALUES:
                walk.send("POST", url, f"form {action} (all fields)",
                          data={**base, **{n: value for n in base if n != "action"}},
                          headers=headers)
            continue
        fields = [name for name in base if name != "action"]
        for value in ALL_FIELDS_VALUES:
            walk.send("POST", url, f"form {action} (all fields)",
                      data={**base, **dict.fromkeys(fields, value)}, headers=headers)
        for name in fields:
            for value in ONE_FIELD_VALUES + (URL_VALUES if "url" in name else ()):
                walk.send("POST", url, f"form {action} {name}", data={**base, name: value},
                          headers=headers)
        for name in files:
            walk.send("POST", url, f"form {action} {name} long file name",
                      data={**base, name: (io.BytesIO(b"partner,as_of\n"), LONG_FILE_NAME)},
                      content_type="multipart/form-data", headers=headers)
    # A JSON body where a form is expected must not reach the views as something else.
    walk.send("POST", url, "json body to a form", data=JSON_BODIES[0],
              content_type="application/json", headers=headers)


@pytest.mark.parametrize("role", ROLES)
def test_no_route_answers_5xx_to_hostile_input(app, client, world, role):
    if role != "anonymous":
        login(client, world["users"][role])
    walk = Walk(client, world, role)
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static":
            continue
        walk_rule(walk, rule, app.view_functions[rule.endpoint])
    assert not walk.failures, (f"{len(walk.failures)} of {walk.sent} hostile requests "
                               "answered 5xx:\n" + "\n".join(map(str, walk.failures)))


# Parsing that let "²" or a 400-digit number through to int() or the database. Views read
# numbers and dates with lms.core.params; these two read values only the server writes.
AD_HOC_PARSING = re.compile(r"\.isdigit\(\)|\.isnumeric\(\)|type=(?:int|float)\b|"
                            r"\bint\(request\.|fromisoformat\(request\.")
TRUSTED = {("lms/accounts/views.py", "user_id.isdigit()"),  # the signed session cookie
           ("lms/certifications/reminders.py", "days.isdigit()")}  # notice kinds from code


def test_numbers_from_requests_are_parsed_in_one_place():
    import lms

    root = Path(lms.__file__).parent.parent
    found = []
    for path in sorted((root / "lms").rglob("*.py")):
        name = path.relative_to(root).as_posix()
        if name == "lms/core/params.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = AD_HOC_PARSING.search(line)
            if match and not any(name == file and text in line for file, text in TRUSTED):
                found.append(f"{name}:{number}: {line.strip()}")
    assert not found, "use lms.core.params.query_int/query_date/parse_int:\n" + "\n".join(found)


def test_the_walk_reaches_parameters_read_in_a_views_helpers(app):
    """An import's page reads its search and metric filter in a helper the view and the
    revert share: the walk still sends them hostile values (q and page are generic)."""
    for endpoint in ("scorecard.import_detail", "scorecard.revert_import"):
        assert "metric" in query_names(app.view_functions[endpoint]), endpoint
