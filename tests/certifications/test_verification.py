"""Public verification: the page and the JSON say the same thing, in every status, to anyone.

Certificates are written straight to the table here (the issuing path has its own tests).
"""

from __future__ import annotations

import html
import io
import re
import secrets
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from lms.accounts.models import Organisation, User
from lms.certifications import lifecycle, public_id, service, verification
from lms.certifications.models import Certificate, Program, ProgramVersion, VerificationHit
from lms.core import clock
from lms.extensions import db
from tests.factories import login, make_organisation, make_user

TA = "technical-associate"
JSON = {"Accept": "application/json"}
EMAIL = "ada.byron@northwind.example"
REASON = "Shared the exam questions on a public forum"


# --- helpers ---------------------------------------------------------------------------------


def current(code: str = TA) -> ProgramVersion:
    return db.session.scalar(select(ProgramVersion).join(
        Program, Program.current_version_id == ProgramVersion.id).where(Program.code == code))


def holder(name: str = "Ada Byron", email: str | None = None) -> User:
    organisation = db.session.scalar(select(Organisation).where(
        Organisation.name == "Northwind Secure")) or make_organisation("Northwind Secure")
    return make_user(organisation, full_name=name, email=email, job_role="technical")


def certify(user: User, *, code: str = TA, renews: Certificate | None = None,
            canonical: str | None = None) -> Certificate:
    """A certificate issued now (a renewal of `renews` if given), with private evidence."""
    version = current(code)
    now = clock.now()
    dates = lifecycle.dates_for(now, validity_months=version.validity_months,
                                renewal_window_days=version.renewal_window_days,
                                grace_days=version.grace_days, renews=renews)
    certificate = Certificate(
        public_id=canonical or public_id.generate(), user_id=user.id,
        organisation_id=user.organisation_id, program_id=version.program_id,
        program_version_id=version.id, cycle=renews.cycle + 1 if renews else 1,
        holder_name=user.full_name,
        organisation_name=user.organisation.name if user.organisation else "",
        program_code=code, program_name=version.name, program_level=version.level,
        program_version_number=version.number, issuer="Kestrel Security",
        issued_at=dates.issued_at, expires_at=dates.expires_at,
        renewal_opens_at=dates.renewal_opens_at, grace_ends_at=dates.grace_ends_at,
        evidence=[{"kind": "assessment", "slug": "technical-associate-exam",
                   "attempt_public_id": "private-attempt-token", "percent": 91.0}],
        renewal_of_id=renews.id if renews else None)
    db.session.add(certificate)
    if renews is not None:
        renews.superseded_at, renews.latest = now, False
    db.session.flush()
    return certificate


def with_check(body: str) -> str:
    return body + public_id.check_character(body)


def mistype(canonical: str) -> str:
    """The same ID with one character changed (the check character catches every such)."""
    position = 5
    other = next(c for c in public_id.ALPHABET if c != canonical[position])
    return canonical[:position] + other + canonical[position + 1:]


def page_text(response) -> str:
    """The text of a page's main part: tags dropped, entities decoded, whitespace collapsed."""
    body = response.get_data(as_text=True).partition("<main")[2]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def url(certificate: Certificate) -> str:
    return f"/verify/{public_id.display(certificate.public_id)}"


def api(certificate: Certificate | str) -> str:
    typed = certificate if isinstance(certificate, str) else certificate.public_id
    return f"/api/v1/certificates/{typed}"


def in_state(state: str, user: User | None = None) -> Certificate:
    """A certificate in `state` at the (frozen) current time."""
    user = user or holder()
    certificate = certify(user)
    if state == "expiring":
        clock.set_now(certificate.renewal_opens_at + timedelta(days=10))
    elif state == "expired":
        clock.set_now(certificate.expires_at + timedelta(days=3))  # inside the grace period
    elif state == "revoked":
        clock.advance(timedelta(days=40))
        service.revoke(certificate.id, reason=REASON, actor=make_user(role="vendor_admin"))
    elif state == "superseded":
        clock.set_now(certificate.renewal_opens_at + timedelta(days=5))
        certify(user, renews=certificate)
    assert lifecycle.status(certificate, clock.now()) == state
    return certificate


STATES = ["active", "expiring", "expired", "revoked", "superseded"]


# --- the page and the JSON agree -------------------------------------------------------------


@pytest.mark.parametrize("state", STATES)
def test_page_and_json_say_the_same_in_every_status(client, frozen_clock, state):
    certificate = in_state(state)
    said = verification.statement(certificate)
    assert said.status == state and said.valid is (state in ("active", "expiring"))

    answer = client.get(api(certificate))
    assert answer.status_code == 200
    assert answer.json == said.as_json()
    assert client.get(url(certificate), headers=JSON).json == said.as_json()

    page = client.get(url(certificate))
    assert page.status_code == 200
    text = page_text(page)
    # The status headline comes before every other fact on the page.
    assert said.headline in text
    headline_at = text.index(said.headline)
    for fact in (said.holder_name, said.organisation_name, said.program_name,
                 f"{said.program_level} level", f"version {said.program_version}",
                 verification.long_date(said.issued_on), said.issuer, said.public_id,
                 "Checked 2 Mar 2026" if state == "active" else "Checked"):
        assert fact in text, fact
        assert text.index(fact, headline_at) > headline_at, fact
    assert verification.long_date(said.expires_on) in text
    assert f'data-status="{state}"' in page.get_data(as_text=True)
    assert "checked_at" in answer.json and answer.json["checked_at"].startswith(
        clock.now().isoformat(timespec="seconds")[:16])


def test_headlines_name_the_date_or_the_renewal(client, frozen_clock):
    expectations = {
        "active": "Valid until 2 March 2028",
        "expiring": "Valid, expiring on 2 March 2028",
        "expired": "Expired on 2 March 2028",
        "revoked": "Revoked on 11 April 2026",
    }
    for state, headline in expectations.items():
        certificate = in_state(state)
        assert client.get(api(certificate)).json["headline"] == headline
        clock.set_now(frozen_clock)
    old = in_state("superseded")
    renewal = db.session.scalar(select(Certificate).where(Certificate.renewal_of_id == old.id))
    answer = client.get(api(old)).json
    renewal_display = public_id.display(renewal.public_id)
    assert answer["headline"] == f"Superseded by {renewal_display}"
    assert answer["superseded_by"] == {"id": renewal_display,
                                       "url": f"http://lms.test/verify/{renewal_display}"}
    page = client.get(url(old)).get_data(as_text=True)
    assert f'href="/verify/{renewal_display}"' in page
    # The renewal runs from the old expiry date: renewing early costs the holder nothing.
    assert client.get(api(renewal)).json["headline"] == "Valid until 2 March 2030"


def test_grace_period_shows_until_when_it_can_be_renewed(client, frozen_clock):
    certificate = in_state("expired")
    answer = client.get(api(certificate)).json
    assert answer["renewable_until"] == "2028-04-01"
    assert "Renewable until 1 April 2028" in page_text(client.get(url(certificate)))
    clock.set_now(certificate.grace_ends_at + timedelta(days=1))  # lapsed: no longer
    assert client.get(api(certificate)).json["renewable_until"] is None
    assert "Renewable until" not in page_text(client.get(url(certificate)))


def test_nothing_private_is_ever_shown(client, frozen_clock):
    certificate = in_state("revoked", holder(email=EMAIL))
    bodies = [client.get(url(certificate)).get_data(as_text=True),
              client.get(url(certificate), headers=JSON).get_data(as_text=True),
              client.get(api(certificate)).get_data(as_text=True),
              client.post("/api/v1/certificates/verify",
                          json={"ids": [certificate.public_id]}).get_data(as_text=True)]
    for body in bodies:
        for secret in (EMAIL, "ada.byron", REASON, "forum", "private-attempt-token", "evidence",
                       "user_id", "revoked_reason", f'"id": {certificate.id},'):
            assert secret not in body, secret
    assert set(client.get(api(certificate)).json) == {
        "id", "status", "valid", "headline", "status_date", "holder", "program", "issued_on",
        "expires_on", "renewable_until", "superseded_by", "issuer", "verification_url",
        "checked_at"}


def test_works_logged_out_with_the_plain_layout(client, frozen_clock):
    certificate = in_state("active")
    for address in ("/verify", url(certificate)):
        response = client.get(address)
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        assert 'class="mainnav"' not in body and "Sign out" not in body
        assert response.headers["Cache-Control"] == "no-store"
    assert client.get(api(certificate)).headers["Cache-Control"] == "no-store"


# --- typing ----------------------------------------------------------------------------------


def test_any_typing_of_the_id_finds_the_certificate(client, frozen_clock):
    canonical = with_check("0K3M9QPX0B4D7HJ2KM8N5P6Q1RS")  # zeros, to be typed as O
    certificate = certify(holder(), canonical=canonical)
    display = public_id.display(canonical)
    assert client.get(f"/verify/{display}").status_code == 200
    for typed in (canonical, canonical.lower(), display.lower(),
                  " ".join(display.split("-")), canonical.replace("0", "O"),
                  display.replace("-", " - ").lower().replace("0", "o")):
        response = client.get(f"/verify/{typed}")
        assert response.status_code == 302, typed
        assert response.headers["Location"] == f"/verify/{display}"
        assert client.get(api(typed)).json["id"] == display, typed
        # The search form goes straight to the canonical address.
        searched = client.get("/verify", query_string={"id": f"  {typed} "})
        assert searched.status_code == 303 and searched.headers["Location"] == f"/verify/{display}"
    assert client.get(url(certificate)).status_code == 200


def test_a_mistyped_id_is_explained_and_kept_for_correcting(client, frozen_clock):
    certificate = certify(holder())
    typo = mistype(certificate.public_id)
    shown = public_id.display(typo).lower()
    for response in (client.get(f"/verify/{shown}"),
                     client.get("/verify", query_string={"id": shown})):
        assert response.status_code == 422
        text = page_text(response)
        assert "This ID has a typing mistake" in text
        assert "check character" in text
        assert public_id.display(typo) in text  # grouped, to compare with the certificate
        assert f'value="{shown}"' in response.get_data(as_text=True)  # the form, prefilled
    for answer in (client.get(api(typo)), client.get(f"/verify/{typo}", headers=JSON)):
        assert answer.status_code == 422
        assert answer.json["field"] == "id" and "typing mistake" in answer.json["message"]


def test_unknown_and_malformed_ids_get_the_very_same_404(client, frozen_clock):
    certify(holder())
    unknown = public_id.generate()  # well formed, check character right, never issued
    malformed = ["hello", "7K3M-9QPX", unknown + "X", "!!!!", "U" * 28]
    typed_ids = [unknown, *malformed]
    pages = [client.get(f"/verify/{typed}") for typed in typed_ids]
    assert {page.status_code for page in pages} == {404}
    # The same page but for the echo of what was typed.
    assert len({page.get_data(as_text=True)
                .replace(f'value="{html.escape(typed)}"', 'value="TYPED"')
                .replace(f">{html.escape(typed)}</code>", ">TYPED</code>")
                for page, typed in zip(pages, typed_ids, strict=True)}) == 1
    assert "No certificate found" in page_text(pages[0])
    searched = client.get("/verify", query_string={"id": "hello"})
    assert searched.status_code == 404 and searched.get_data() == pages[1].get_data()
    for base in ("/api/v1/certificates/", "/verify/"):
        answers = [client.get(base + typed, headers=JSON) for typed in [unknown, *malformed]]
        assert {answer.status_code for answer in answers} == {404}
        assert len({answer.get_data() for answer in answers}) == 1
        assert answers[0].json == {"error": "NotFound", "message": verification.NOT_FOUND}


# --- rate limit --------------------------------------------------------------------------------


def test_lookups_are_rate_limited_per_client_and_minute(app, client, frozen_clock, monkeypatch):
    monkeypatch.setitem(app.config, "VERIFY_RATE_LIMIT_PER_MINUTE", 3)
    certificate = certify(holder())
    unknown = public_id.generate()
    clock.set_now(frozen_clock + timedelta(seconds=15))
    # Found or not, page, JSON or bulk: each counts once.
    assert client.get(url(certificate)).status_code == 200
    assert client.get(api(unknown)).status_code == 404
    assert client.post("/api/v1/certificates/verify",
                       json={"ids": [certificate.public_id] * 50}).status_code == 200
    page = client.get(url(certificate))
    assert page.status_code == 429 and page.headers["Retry-After"] == "45"
    assert "Too many checks" in page_text(page) and certificate.holder_name not in page_text(page)
    answer = client.get(api(certificate))
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "45"
    assert answer.json["error"] == "TooManyRequests" and "try again" in answer.json["message"]
    assert client.post("/api/v1/certificates/verify",
                       json={"ids": [certificate.public_id]}).status_code == 429
    # Another address has its own allowance; a bulk call costs one plus one per 100 IDs.
    other = client.get(url(certificate), environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert other.status_code == 200
    assert client.post("/api/v1/certificates/verify", json={"ids": [unknown] * 200},
                       environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 429
    # The next minute starts afresh, and the past minutes are pruned.
    clock.set_now(frozen_clock + timedelta(minutes=1))
    assert client.get(url(certificate)).status_code == 200
    minutes = set(db.session.scalars(select(VerificationHit.minute)))
    assert minutes == {int(clock.now().timestamp()) // 60}


def test_the_limit_is_counted_in_the_database(frozen_clock):
    """Counted by an upsert, so every worker and process shares one count."""
    for _ in range(3):
        verification.throttle("198.51.100.7", limit=3)
    with pytest.raises(verification.RateLimited) as refused:
        verification.throttle("198.51.100.7", limit=3)
    assert refused.value.retry_after == 60
    assert db.session.scalar(select(func.sum(VerificationHit.hits))) == 4
    assert verification.throttle("198.51.100.8", limit=3) == 1


def test_clients_are_counted_by_address_and_ipv6_by_network():
    key = verification.client_key
    assert key("203.0.113.5") == "203.0.113.5"
    assert key("2001:db8:1:2:aaaa::1") == key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert key("2001:db8:1:3::1") != key("2001:db8:1:2::1")
    assert key("::ffff:203.0.113.5") == "203.0.113.5"
    assert key(None) == "unknown"


# --- the API -----------------------------------------------------------------------------------


def test_the_api_is_open_to_any_origin_and_answers_json_errors(client, frozen_clock):
    certificate = certify(holder())
    answer = client.get(api(certificate))
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert answer.headers["Content-Type"].startswith("application/json")
    assert client.get(api("nope")).headers["Access-Control-Allow-Origin"] == "*"


def test_bulk_answers_in_order_with_the_reason_for_each_miss(client, frozen_clock):
    active, revoked = certify(holder()), in_state("revoked")
    typo, unknown = mistype(active.public_id), public_id.generate()
    typed = [public_id.display(active.public_id).lower(), typo, unknown, "rubbish",
             revoked.public_id]
    answer = client.post("/api/v1/certificates/verify", json={"ids": typed})
    assert answer.status_code == 200
    results = answer.json["results"]
    assert [r["query"] for r in results] == typed
    assert [r["found"] for r in results] == [True, False, False, False, True]
    assert results[0] == {"query": typed[0], "found": True,
                          **verification.statement(active).as_json()}
    assert "typing mistake" in results[1]["error"]
    assert results[2]["error"] == results[3]["error"] == verification.NOT_FOUND
    assert results[4]["status"] == "revoked"
    assert answer.json["checked_at"] == clock.now().isoformat(timespec="seconds")


@pytest.mark.parametrize(("body", "status"), [
    ({"ids": ["X"] * 1001}, 422),
    ({"ids": "7K3M-9QPX"}, 422),
    ({"ids": ["ok", 7]}, 422),
    ({"id": ["7K3M"]}, 422),
    ([1, 2], 400),
    ("not json", 400),
])
def test_bulk_refuses_bad_bodies_naming_the_field(client, body, status):
    if body == "not json":
        answer = client.post("/api/v1/certificates/verify", data="ids=1,2",
                             content_type="application/x-www-form-urlencoded")
    else:
        answer = client.post("/api/v1/certificates/verify", json=body)
    assert answer.status_code == status
    assert answer.json["field"] == "ids" and answer.json["message"]
    if status == 422 and isinstance(body, dict) and len(body.get("ids", [])) == 1001:
        assert "1,000" in answer.json["message"] and "1,001" in answer.json["message"]


def test_bulk_takes_a_constant_number_of_queries(client, frozen_clock, count_queries):
    user = holder()
    version = current()
    template = certify(user)

    def rows(first_cycle: int, count: int, **fields) -> list[dict]:
        return [{"public_id": public_id.generate(), "user_id": user.id,
                 "organisation_id": user.organisation_id, "program_id": version.program_id,
                 "program_version_id": version.id, "cycle": first_cycle + i,
                 "holder_name": user.full_name, "organisation_name": "Northwind Secure",
                 "program_code": TA, "program_name": version.name,
                 "program_level": version.level, "program_version_number": version.number,
                 "issuer": "Kestrel Security", "issued_at": template.issued_at,
                 "expires_at": template.expires_at,
                 "renewal_opens_at": template.renewal_opens_at,
                 "grace_ends_at": template.grace_ends_at, "evidence": [], **fields}
                for i in range(count)]

    # 250 superseded certificates (each needs its renewal's ID) and their 250 renewals.
    old = rows(2, 250, superseded_at=template.issued_at)
    db.session.execute(insert(Certificate), old)
    old_ids = dict(db.session.execute(select(Certificate.public_id, Certificate.id).where(
        Certificate.public_id.in_([row["public_id"] for row in old]))).all())
    renewals = rows(300, 250)
    for row, original in zip(renewals, old, strict=True):
        row["renewal_of_id"] = old_ids[original["public_id"]]
    db.session.execute(insert(Certificate), renewals)
    db.session.flush()
    everything = [row["public_id"] for pair in zip(old, renewals, strict=True) for row in pair]
    client.post("/api/v1/certificates/verify", json={"ids": []})  # opens the rate window
    counts = []
    for ids in (everything[:10], everything):
        with count_queries() as counter:
            answer = client.post("/api/v1/certificates/verify", json={"ids": ids})
        assert answer.status_code == 200
        results = answer.json["results"]
        assert len(results) == len(ids) and all(r["found"] for r in results)
        assert results[0]["status"] == "superseded" and results[0]["superseded_by"]
        counts.append(counter.count)
    assert counts[0] == counts[1], counts


# --- the CSV check (vendor staff) -------------------------------------------------------------


def upload(client, content: bytes | str, *, download: bool = False, name: str = "ids.csv"):
    data = content.encode() if isinstance(content, str) else content
    form = {"file": (io.BytesIO(data), name)}
    if download:
        form["download"] = "csv"
    return client.post("/verify/csv", data=form, content_type="multipart/form-data")


@pytest.fixture
def staff(client):
    return login(client, make_user(role="channel_manager"))


def test_csv_of_ids_shows_a_summary_and_downloads_the_results(staff, frozen_clock):
    active, revoked = certify(holder()), in_state("revoked")
    typo, unknown = mistype(active.public_id), public_id.generate()
    content = "id\n" + "\n".join([public_id.display(active.public_id).lower(), typo, "",
                                  unknown, revoked.public_id]) + "\n"
    page = upload(staff, content)
    assert page.status_code == 200
    text = page_text(page)
    assert "4 rows checked" in text
    assert re.search(r"1 Valid 0 Expiring 0 Expired 1 Revoked 0 Superseded 1 Mistyped ID "
                     r"1 Not found", text), text
    assert "<svg" in page.get_data(as_text=True)  # the chart

    download = upload(staff, content, download=True)
    assert download.status_code == 200
    assert download.headers["Content-Type"].startswith("text/csv")
    assert download.headers["Content-Disposition"].startswith("attachment;")
    lines = download.get_data(as_text=True).splitlines()
    assert lines[0] == ("query,found,status,headline,holder,organisation,program,level,"
                        "issued_on,expires_on,verification_url,certificate_id,note")
    display = public_id.display(active.public_id)
    assert lines[1] == (f"{display.lower()},yes,active,Valid until 2 March 2028,Ada Byron,"
                        f"Northwind Secure,Kestrel Certified Technical Associate,Associate,"
                        f"2026-03-02,2028-03-02,http://lms.test/verify/{display},{display},")
    assert lines[2].startswith(f"{typo},no,") and "typing mistake" in lines[2]
    assert lines[3].startswith(f"{unknown},no,")
    assert ",revoked,Revoked on 11 April 2026," in lines[4]
    assert len(lines) == 5
    assert EMAIL not in download.get_data(as_text=True) and REASON not in lines[4]


def test_csv_by_email_and_program_finds_the_latest_certificate(staff, frozen_clock):
    ada = holder(email=EMAIL)
    first = certify(ada)
    clock.set_now(first.renewal_opens_at + timedelta(days=1))
    renewal = certify(ada, renews=first)
    nobody = holder("Bob Nobody", email="bob@northwind.example")
    content = ("Email;Program\r\n"
               f"{EMAIL.upper()};{TA}\r\nbob@northwind.example;{TA}\r\n"
               f"stranger@example.com;{TA}\r\n")
    download = upload(staff, content, download=True)
    assert download.status_code == 200, page_text(download)
    lines = download.get_data(as_text=True).splitlines()
    assert lines[0].startswith("email,program_code,found,status,")
    assert lines[1].startswith(f"{EMAIL.upper()},{TA},yes,active,")
    assert public_id.display(renewal.public_id) in lines[1]
    assert lines[2] == f"bob@northwind.example,{TA},no" + "," * 11 + verification.NO_CERTIFICATE
    assert lines[3].startswith(f"stranger@example.com,{TA},no,")
    assert nobody.full_name not in download.get_data(as_text=True)
    page = upload(staff, content)
    assert "3 rows checked" in page_text(page) and "1 Valid" in page_text(page)


def test_csv_takes_a_plain_list_of_ids_without_a_header(staff, frozen_clock):
    certificate = certify(holder())
    page = staff.post("/verify/csv", data={
        "text": f"{public_id.display(certificate.public_id)}\n{public_id.generate()}\n"})
    assert page.status_code == 200
    assert "2 rows checked" in page_text(page) and "Ada Byron" in page_text(page)


def test_csv_cells_cannot_become_spreadsheet_formulas(staff, frozen_clock):
    certificate = certify(holder('=HYPERLINK("http://evil.example","Click")', email=None))
    lines = upload(staff, f"id\n{certificate.public_id}\n", download=True) \
        .get_data(as_text=True).splitlines()
    assert ",\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"Click\"\")\"," in lines[1]


@pytest.mark.parametrize(("content", "message"), [
    (b"", "The file is empty"),
    (b"   \n\n", "The file is empty"),
    (b"id\n\n", "The file has a header but no rows"),
    (b"name,id\nAda,7K3M\n", "Line 1 (the header) has unknown column 'name'"),
    (b"email\nada@example.com\n", "Line 1 (the header) has no program column"),
    (b"id,email,program\n1,2,3\n", "names both an id and an email or program column"),
    (b"id,id\nA,B\n", "names the id column twice"),
    (b"id\nAAAA\nBBBB\xe9\nCCCC\n", "Line 3 is not UTF-8 text"),
    (b"email,program\nada@example.com,technical-associate\nbob@example.com,\n",
     "Line 3: the program is empty"),
    (b"email,program\nada@example.com,tech-associate\n",
     "Line 2: no program has the code 'tech-associate'"),
    (b"id\nAAAA\nBBBB,extra\n", "Line 3 has 2 values; the header names 1 column"),
    (b"id\n\"AAAA\nBBBB\n", "Line 3 cannot be read as CSV: the file ends inside quotes"),
    (b"id\n\"AB\"C\n", "Line 2 cannot be read as CSV"),
    (b"id\nAA\x00AA\n", "Line 2 contains a NUL character"),
])
def test_bad_files_are_refused_naming_the_line(staff, content, message):
    page = upload(staff, content)
    assert page.status_code == 422
    assert message in page_text(page), page_text(page)
    assert "rows checked" not in page_text(page)


def test_too_many_rows_are_refused(staff):
    content = "id\n" + "\n".join(public_id.generate() for _ in range(10_001)) + "\n"
    page = upload(staff, content)
    assert page.status_code == 422
    assert "The file has 10,001 rows; up to 10,000" in page_text(page)


def test_a_refused_file_comes_back_in_the_box_to_correct(staff):
    content = "email,program\nada@example.com,tech-associate\n"
    page = upload(staff, content)
    assert page.status_code == 422
    assert "ada@example.com,tech-associate" in page.get_data(as_text=True)  # in the textarea
    pasted = staff.post("/verify/csv", data={"text": content + "bob@example.com,\n"})
    assert pasted.status_code == 422 and "tech-associate" in pasted.get_data(as_text=True)
    # Every problem at once, next to the box they came from.
    text = page_text(pasted)
    assert "2 rows need correcting" in text
    assert "Line 2: no program has the code 'tech-associate'" in text
    assert "Line 3: the program is empty" in text
    assert "Program codes: sales-professional, solution-architect, technical-associate" in text
    assert 'aria-describedby="text-error"' in pasted.get_data(as_text=True)
    assert "Choose a CSV file" in page_text(staff.post("/verify/csv", data={"text": "  "}))


def test_csv_check_takes_a_constant_number_of_queries(staff, frozen_clock, count_queries):
    user = holder(email=EMAIL)
    ids = [certify(user, code=code).public_id
           for code in ("technical-associate", "sales-professional", "solution-architect")]
    counts = {}
    for rows in (10, 500):
        by_id = "id\n" + "\n".join((ids * rows)[:rows]) + "\n"
        by_email = "email,program\n" + "\n".join(
            f"{EMAIL},technical-associate" if i % 2 == 0
            else f"other{i}@example.com,sales-professional" for i in range(rows)) + "\n"
        for mode, content in (("id", by_id), ("email", by_email)):
            with count_queries() as counter:
                page = upload(staff, content)
            assert page.status_code == 200, page_text(page)
            counts[(mode, rows)] = counter.count
    assert counts[("id", 10)] == counts[("id", 500)], counts
    assert counts[("email", 10)] == counts[("email", 500)], counts


@pytest.mark.parametrize("role", ["learner", "partner_admin", "author"])
def test_only_vendor_admins_and_channel_managers_check_files(client, role):
    organisation = make_organisation() if role in ("learner", "partner_admin") else None
    login(client, make_user(organisation, role=role))
    assert client.get("/verify/csv").status_code == 403
    assert upload(client, "id\nAAAA\n").status_code == 403


def test_the_csv_page_asks_anonymous_visitors_to_sign_in(client):
    response = client.get("/verify/csv")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("role", ["vendor_admin", "channel_manager"])
def test_the_csv_page_opens_for_vendor_staff(client, role):
    login(client, make_user(role=role))
    page = client.get("/verify/csv")
    assert page.status_code == 200 and "Check certificates in bulk" in page_text(page)


def test_with_redis_the_limit_is_counted_there(app, client, frozen_clock, monkeypatch,
                                               redis_client):
    """Production counts in Redis: one round trip, shared by every worker, expiring itself."""
    from tests.conftest import REDIS_URL

    monkeypatch.setitem(app.config, "REDIS_URL", REDIS_URL)
    monkeypatch.setitem(app.config, "VERIFY_RATE_LIMIT_PER_MINUTE", 2)
    address = f"198.51.100.{secrets.randbelow(250) + 1}"
    key = f"lms:verify-hits:{int(clock.now().timestamp()) // 60}:{address}"
    redis_client.delete(key)
    try:
        certificate = certify(holder())
        for expected in (200, 200, 429):
            answer = client.get(api(certificate), environ_base={"REMOTE_ADDR": address})
            assert answer.status_code == expected
        assert int(redis_client.get(key)) == 3 and 60 < redis_client.ttl(key) <= 120
        assert db.session.scalar(select(func.count()).select_from(VerificationHit)) == 0
    finally:
        redis_client.delete(key)


@pytest.mark.committed
def test_the_public_lookup_sees_each_commit_at_once(app, client):
    """The lookup reads on a connection kept open per worker, in autocommit: a revocation
    committed elsewhere shows on the very next request, on both databases."""
    certificate = certify(holder(email="quick.read@example.com"))
    admin = make_user(None, role="vendor_admin", email="quick.admin@example.com")
    certificate_id, admin_id = certificate.id, admin.id
    json_path, page_path = api(certificate), url(certificate)
    db.session.commit()
    db.session.close()  # on SQLite an open read would hold the write lock the request needs
    assert client.get(json_path).json["status"] == "active"
    service.revoke(certificate_id, reason="Shared account, confirmed.",
                   actor=db.session.get(User, admin_id))
    db.session.commit()
    db.session.close()
    answer = client.get(json_path).json
    assert (answer["status"], answer["valid"]) == ("revoked", False)
    assert "Revoked on" in page_text(client.get(page_path))


def test_a_pasted_verification_link_finds_the_certificate(client, frozen_clock):
    certificate = certify(holder())
    shown = public_id.display(certificate.public_id)
    target = f"/verify/{shown}"
    for pasted in (f"https://certs.example.com/verify/{shown}",
                   f"certs.example.com/verify/{shown}",
                   f"  HTTPS://certs.example.com/VERIFY/{certificate.public_id.lower()}/ ",
                   f"https://certs.example.com/verify/{shown}?utm_source=linkedin#top",
                   f"http://localhost:5000/verify/{shown.replace('-', '%2D')}"):
        response = client.get("/verify", query_string={"id": pasted})
        assert response.status_code == 303, pasted
        assert response.headers["Location"] == target
    assert public_id.normalise(f"https://x.example/verify/{shown}") == certificate.public_id


def test_the_not_found_page_echoes_what_was_typed(client, frozen_clock):
    typed = "https://certs.example.com/verify/<b>nope</b>"
    response = client.get("/verify", query_string={"id": typed})
    body = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "You looked for" in page_text(response) and typed in page_text(response)
    assert "<b>nope</b>" not in body and html.escape(typed) in body  # escaped, never markup
    assert f'value="{html.escape(typed)}"' in body  # the form, prefilled to correct it
    long = "Z" * 5000
    assert "Z" * 201 not in client.get("/verify", query_string={"id": long}).get_data(
        as_text=True)
