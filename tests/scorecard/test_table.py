"""The scorecard table's rows as printed (lms.scorecard.table): what a metric cell says and
carries for the browser tests and screen readers, flags grouped by kind, and text escaped."""

from __future__ import annotations

from lms.scorecard import table


def metric(code="pipeline_velocity", status="green", value=4600.0, **extra) -> dict:
    return {"code": code, "name": "Pipeline velocity", "unit": "currency", "status": status,
            "value": value, "as_of": "2026-09-30", "age_days": 68, **extra}


def card(**extra) -> dict:
    return {"organisation": {"id": 7, "name": "Northwind", "labels": {
                "tier": "Gold", "partner_type": "Reseller", "region": "Americas"}},
            "health": "yellow", "score": 57.46, "coverage": 0.955, "flags": [],
            "metrics": [metric()], "definitions": {"currency": "EUR"}, **extra}


def test_a_cell_shows_the_value_its_status_and_its_date():
    cell = table.cell(metric(), "USD")
    assert cell == (
        '<td class="sc-metric sc-status-green" data-metric="pipeline_velocity" '
        'data-status="green" title="Pipeline velocity: Green · as of 2026-09-30">'
        '<span class="sc-value"><span class="sc-dot" aria-hidden="true"></span>$4,600</span> '
        '<span class="visually-hidden">green</span></td>')


def test_stale_and_missing_values_say_so_in_words():
    stale = table.cell(metric(status="stale"), "USD")
    assert '$4,600</span> <span class="sc-gap">stale · 68 d</span>' in stale
    assert 'title="Pipeline velocity: Stale · as of 2026-09-30"' in stale
    missing = table.cell(metric(status="missing", value=None, as_of=None), "USD")
    assert missing.endswith('title="Pipeline velocity: Missing">'
                            '<span class="sc-gap">missing</span></td>')


def test_text_is_escaped_and_loses_bidi_controls():
    cell = table.cell(metric(code='a"b', name="<b>Pipe\u202eline</b>"), "USD")
    assert 'data-metric="a&#34;b"' in cell
    assert 'title="&lt;b&gt;Pipeline&lt;/b&gt;: Green' in cell


def test_a_row_shows_the_partner_health_score_flags_and_metrics():
    flags = [{"kind": "tier_at_risk", "key": "tier_at_risk", "text": "Gold & more."}]
    row = table.row(card(flags=flags), lambda id: f"/p/{id}", "USD")
    assert row.startswith(
        '<tr data-partner="7"><th scope="row" class="sc-partner"><a href="/p/7">Northwind</a> '
        '<small class="muted">Gold · Reseller · Americas</small></th>\n'
        '<td class="sc-overall"><span class="sc-health sc-health-yellow" data-health="yellow">'
        '<span class="sc-dot" aria-hidden="true"></span>Yellow</span><br>'
        '<strong class="sc-score">57.5</strong> <small class="muted sc-coverage" '
        'title="Share of the weight with fresh data">96% data</small></td>\n'
        '<td class="sc-flag-cell"><ul class="sc-flags sc-flags-compact"><li class="sc-flag '
        'sc-flag-tier_at_risk" data-flags="tier_at_risk" title="Gold &amp; more.">Tier at risk'
        '</li></ul></td>\n<td class="sc-metric sc-status-green"')
    assert row.endswith("</td></tr>\n") and "$4,600" in row
    # A closed period's rows use the currency each record was scored with.
    assert "€4,600" in table.rows([card()], str)[0]
    # Below the coverage a health needs, no score is shown.
    assert '<strong class="sc-score muted">—</strong>' in table.row(
        card(health="unknown"), str, "USD")
    assert '<td class="sc-flag-cell"></td>' in table.row(card(), str, "USD")


def test_flags_are_grouped_by_kind_in_a_fixed_order():
    flags = [{"kind": "metric_stale", "key": "metric_stale:a", "text": "A is stale."},
             {"kind": "readiness_low", "key": "readiness_low", "text": "Readiness is red."},
             {"kind": "metric_stale", "key": "metric_stale:b", "text": "B is stale."}]
    assert table.flags(flags) == [
        table.Flags("readiness_low", "Readiness low", "readiness_low", "Readiness is red."),
        table.Flags("metric_stale", "Stale data ×2", "metric_stale:a metric_stale:b",
                    "A is stale. B is stale.")]


def test_a_comparison_row_shows_both_periods_the_change_and_what_moved():
    before, after = table.compact(card(score=60.0)), table.compact(card(score=72.5))
    row = table.comparison_row({"name": "Northwind", "a": before, "b": after, "delta": 12.5,
                                "moved": [("Pipeline velocity", "red", "green")]})
    assert '<td class="num sc-delta sc-up">+12.5</td>' in row
    assert ('Pipeline velocity: <span class="sc-status sc-status-red">red</span> → '
            '<span class="sc-status sc-status-green">green</span>') in row
    assert "<strong>72.5</strong><br><small class=\"muted\">readiness — · 0 flags · 96% data" \
        in row
    gone = table.comparison_row({"name": "Gone", "a": before, "b": None, "delta": None,
                                 "moved": None})
    assert '<td><span class="muted">not scored</span></td>' in gone
    assert '<td class="num sc-delta">—</td>\n<td class="small"></td>' in gone


def test_a_frozen_scorecard_in_full():
    frozen = table.frozen(card(
        score=57.46, definitions={"currency": "USD", "version": 3},
        flags=[{"kind": "readiness_low", "key": "readiness_low", "label": "Readiness low",
                "text": "Readiness is red."}],
        checkpoints=[{"code": "audit", "name": "Audit", "status": "fail",
                      "detail": "Compliance <60."}],
        readiness={"total": 40, "rubric_version": 2, "forecast": "Falls on 1 Jan.",
                   "components": [{"label": "Certified", "points": 12.345, "weight": 30}]},
        metrics=[metric(status="stale", owner="Sales", source="import", weight=15,
                        max_age_days=45, green=5000, yellow=3000,
                        direction="higher_is_better")]), "7 Dec 2026")
    assert frozen.startswith('<details class="card sc-snapshot" id="partner-7">\n<summary>'
                             '<strong>Northwind</strong> <span class="sc-health')
    assert "· readiness 40 (rubric v2) · metrics v3</small></summary>" in frozen
    assert ('<li class="sc-flag sc-flag-readiness_low" data-flag="readiness_low"><strong>'
            'Readiness low</strong> Readiness is red.</li>') in frozen
    assert "age at closing on 7 Dec 2026" in frozen
    assert "68 days old; fresh for 45 days" in frozen and "green ≥ $5,000" in frozen
    assert ('<li class="sc-check sc-check-fail" data-checkpoint="audit"><span class='
            '"sc-check-mark">Fail</span> <span><strong>Audit</strong><br><small class="muted">'
            'Compliance &lt;60.</small></span></li>') in frozen
    assert "<li>Certified: <strong>12.3</strong> / 30</li>" in frozen
    assert frozen.endswith('<p class="sc-forecast">Falls on 1 Jan.</p>\n</details>\n')
    assert table.checkpoint_list([]) == '<p class="muted">No compliance checkpoints are ' \
                                        'defined.</p>'
    assert table.flag_list([]) == '<p class="muted">No risk flags.</p>'
