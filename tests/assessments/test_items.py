"""Item types on their own: build, parse, score and review through REGISTRY (no database)."""

import json
import re
from pathlib import Path

import pytest

from lms.assessments import loader
from lms.assessments.items import REGISTRY, ItemError
from lms.config import PROJECT_ROOT
from lms.core.errors import Invalid

SINGLE, MULTIPLE, TRUE_FALSE = REGISTRY["single_choice"], REGISTRY["multiple_response"], \
    REGISTRY["true_false"]
NUMERIC, SHORT, ORDERING, MATCHING = REGISTRY["numeric"], REGISTRY["short_text"], \
    REGISTRY["ordering"], REGISTRY["matching"]

SECRET_WORDS = ("correct", "feedback", "explanation", "accepted", "answer", "tolerance")


def single(**extra):
    return SINGLE.build("bank/tiers", {
        "prompt": "How many tiers?", "explanation": "Registered, Silver, Gold, Platinum.",
        "options": [{"text": "Three", "feedback": "Registered counts too."},
                    {"text": "Four", "correct": True},
                    {"text": "Five", "feedback": "There is no Diamond tier."}], **extra})


def multiple(scoring="all_or_nothing"):
    return MULTIPLE.build("bank/nfr", {
        "prompt": "Allowed uses of NFR licences?", "scoring": scoring,
        "options": [{"text": "Internal demos", "correct": True},
                    {"text": "Training staff", "correct": True},
                    {"text": "Lab testing", "correct": True},
                    {"text": "Customer production", "feedback": "Never for resale."},
                    {"text": "Reselling"}]})


def ids(definition, *texts):
    by_text = {o["text"]: o["id"] for o in definition["options"]}
    return [by_text[t] for t in texts]


def numeric(answer=6514, tolerance=0):
    return NUMERIC.build("bank/port", {"prompt": "Syslog TLS port?", "answer": answer,
                                       "tolerance": tolerance, "unit": "TCP port"})


def ordering(scoring="all_or_nothing"):
    return ORDERING.build("bank/rollout", {
        "prompt": "Order the rollout.", "scoring": scoring,
        "order": ["Pilot in audit mode", "Tune exclusions", "Broad audit rollout",
                  "Switch to block mode"]})


def positions(definition, order_of_texts):
    """Form data putting the entries in the order of the given texts."""
    by_text = {e["text"]: e["id"] for e in definition["entries"]}
    return {f"pos-{by_text[t]}": [str(i)] for i, t in enumerate(order_of_texts, 1)}


def matching(scoring="all_or_nothing"):
    return MATCHING.build("bank/products", {
        "prompt": "Match each product.", "scoring": scoring,
        "pairs": [{"left": "Sentry", "right": "Endpoint detection"},
                  {"left": "Edge", "right": "Zero-trust access"},
                  {"left": "Cloud Guard", "right": "Posture management"},
                  {"left": "Console", "right": "Multi-tenant management"}]})


def matches(definition, mapping):
    lefts = {p["left"]: p["left_id"] for p in definition["pairs"]}
    rights = {p["right"]: p["right_id"] for p in definition["pairs"]}
    return {f"match-{lefts[left]}": [rights[right]] for left, right in mapping.items()}


def invalid_field(kind, definition, data):
    with pytest.raises(Invalid) as error:
        kind.parse(definition, data)
    return error.value.field


# --- single choice ---------------------------------------------------------------------------

def test_single_choice_scores_the_right_option_only():
    d = single()
    four, three = ids(d, "Four", "Three")
    assert SINGLE.score(d, SINGLE.parse(d, {"choice": [four]})) == 1.0
    assert SINGLE.score(d, SINGLE.parse(d, {"choice": [three]})) == 0.0
    assert SINGLE.parse(d, {"choice": [f"  {four} "]}) == {"choice": four}


@pytest.mark.parametrize("data", [{}, {"choice": []}, {"choice": [""]}, {"choice": ["Four"]},
                                  {"choice": ["true"]}, {"choices": ["x"]}])
def test_single_choice_rejects_anything_but_one_of_its_option_ids(data):
    assert invalid_field(SINGLE, single(), data) == "choice"


def test_single_choice_rejects_an_option_of_another_item():
    other = SINGLE.build("bank/other", {"prompt": "Same options, other item", "options": [
        {"text": "Three"}, {"text": "Four", "correct": True}, {"text": "Five"}]})
    assert invalid_field(SINGLE, single(), {"choice": ids(other, "Four")}) == "choice"


def test_single_choice_review_marks_correct_and_shows_feedback_of_the_chosen_option_only():
    d = single()
    review = SINGLE.review(d, {"choice": ids(d, "Three")[0]})
    assert review["explanation"] == "Registered, Silver, Gold, Platinum."
    assert review["options"] == [
        {"text": "Three", "correct": False, "chosen": True, "feedback": "Registered counts too."},
        {"text": "Four", "correct": True, "chosen": False, "feedback": ""},
        {"text": "Five", "correct": False, "chosen": False, "feedback": ""}]
    unanswered = SINGLE.review(d, None)
    assert [o["chosen"] for o in unanswered["options"]] == [False, False, False]


def test_single_choice_chosen_options_and_form_values_round_trip():
    d = single()
    answer = SINGLE.parse(d, {"choice": ids(d, "Five")})
    assert SINGLE.chosen_options(d, answer) == ids(d, "Five")
    assert SINGLE.parse(d, SINGLE.form_values(answer)) == answer


# --- multiple response -----------------------------------------------------------------------

def test_multiple_response_all_or_nothing_needs_exactly_the_right_set():
    d = multiple()
    right = ids(d, "Internal demos", "Training staff", "Lab testing")
    assert MULTIPLE.score(d, MULTIPLE.parse(d, {"choices": right})) == 1.0
    assert MULTIPLE.score(d, MULTIPLE.parse(d, {"choices": right[:2]})) == 0.0
    too_many = right + ids(d, "Reselling")
    assert MULTIPLE.score(d, MULTIPLE.parse(d, {"choices": too_many})) == 0.0


@pytest.mark.parametrize(("chosen", "expected"), [
    (["Internal demos", "Training staff", "Lab testing"], 1.0),
    (["Internal demos"], 1 / 3),
    (["Internal demos", "Training staff"], 2 / 3),
    # each wrong choice takes one share back
    (["Internal demos", "Training staff", "Reselling"], 1 / 3),
    (["Internal demos", "Training staff", "Lab testing", "Reselling"], 2 / 3),
    # never below zero
    (["Internal demos", "Reselling", "Customer production"], 0.0),
    (["Reselling"], 0.0),
])
def test_multiple_response_partial_credit(chosen, expected):
    d = multiple("partial")
    assert MULTIPLE.score(d, MULTIPLE.parse(d, {"choices": ids(d, *chosen)})) \
        == pytest.approx(expected)


def test_multiple_response_ignores_duplicates_and_records_each_choice_once():
    d = multiple("partial")
    demos = ids(d, "Internal demos")[0]
    answer = MULTIPLE.parse(d, {"choices": [demos, demos, ""]})
    assert answer == {"choices": [demos]}
    assert MULTIPLE.score(d, answer) == pytest.approx(1 / 3)
    assert MULTIPLE.chosen_options(d, answer) == [demos]
    assert MULTIPLE.parse(d, MULTIPLE.form_values(answer)) == answer


@pytest.mark.parametrize("data", [{}, {"choices": []}, {"choices": ["", ""]}])
def test_multiple_response_rejects_an_empty_answer(data):
    assert invalid_field(MULTIPLE, multiple(), data) == "choices"


def test_multiple_response_rejects_an_unknown_option_even_beside_known_ones():
    d = multiple()
    assert invalid_field(MULTIPLE, d, {"choices": ids(d, "Internal demos") + ["nope"]}) \
        == "choices"
    assert invalid_field(MULTIPLE, d, {"choices": ["Internal demos"]}) == "choices"


# --- true / false ----------------------------------------------------------------------------

@pytest.mark.parametrize(("key", "choice", "expected"), [
    (True, "true", 1.0), (True, "false", 0.0), (False, "false", 1.0), (False, "true", 0.0)])
def test_true_false_scores(key, choice, expected):
    d = TRUE_FALSE.build("bank/tf", {"prompt": "Deal registration lasts 90 days.",
                                     "answer": key})
    answer = TRUE_FALSE.parse(d, {"choice": [choice]})
    assert TRUE_FALSE.score(d, answer) == expected
    assert TRUE_FALSE.chosen_options(d, answer) == [choice]
    assert TRUE_FALSE.review(d, answer)["correct_answer"] == ("True" if key else "False")


@pytest.mark.parametrize("value", ["", "yes", "True", "1", "maybe"])
def test_true_false_rejects_anything_but_true_or_false(value):
    d = TRUE_FALSE.build("bank/tf", {"prompt": "p", "answer": True})
    assert invalid_field(TRUE_FALSE, d, {"choice": [value]}) == "choice"


def test_true_false_build_needs_a_boolean_answer():
    for answer in (None, "true", 1):
        with pytest.raises(ItemError) as error:
            TRUE_FALSE.build("bank/tf", {"prompt": "p", "answer": answer})
        assert error.value.field == "answer"


# --- numeric ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("typed", "value"), [
    ("6514", 6514.0), (" 6514 ", 6514.0), ("+6514", 6514.0), ("6514.0", 6514.0),
    ("6514,0", 6514.0), ("６５１４", 6514.0), ("６５１４．５", 6514.5), ("3,5", 3.5), (".5", 0.5),
    (",5", 0.5), ("-2", -2.0), ("6 514", 6514.0),
])
def test_numeric_reads_decimal_commas_and_full_width_digits(typed, value):
    assert NUMERIC.parse(numeric(), {"value": [typed]}) == {"value": value}


@pytest.mark.parametrize("typed", ["", "abc", "6514 port", "1e3", "0x10", "1.2.3", "1,000.5",
                                   "--1", "nan", "inf", "½", "1" * 400])
def test_numeric_rejects_what_is_not_a_plain_number(typed):
    assert invalid_field(NUMERIC, numeric(), {"value": [typed]}) == "value"


def test_numeric_exact_answer():
    d = numeric(6514)
    assert NUMERIC.score(d, NUMERIC.parse(d, {"value": ["6514"]})) == 1.0
    assert NUMERIC.score(d, NUMERIC.parse(d, {"value": ["6515"]})) == 0.0
    assert NUMERIC.score(d, {}) == 0.0


@pytest.mark.parametrize(("typed", "expected"), [
    ("29", 1.0), ("30", 1.0), ("31", 1.0),  # the tolerance is inclusive
    ("28.99", 0.0), ("31.01", 0.0), ("29,5", 1.0)])
def test_numeric_tolerance_is_inclusive(typed, expected):
    d = numeric(answer=30, tolerance=1)
    assert NUMERIC.score(d, NUMERIC.parse(d, {"value": [typed]})) == expected


def test_numeric_float_noise_does_not_fail_a_right_answer():
    d = numeric(answer=0.3)
    assert 0.1 + 0.2 != 0.3
    assert NUMERIC.score(d, {"value": 0.1 + 0.2}) == 1.0
    assert NUMERIC.score(numeric(answer=0.1 + 0.2), NUMERIC.parse(d, {"value": ["0.3"]})) == 1.0
    # ...but it is a hair, not a tolerance
    assert NUMERIC.score(d, {"value": 0.3001}) == 0.0


def test_numeric_form_values_and_review_keep_every_digit():
    d = numeric(answer=234489.6, tolerance=1)
    answer = NUMERIC.parse(d, {"value": ["234489.6"]})
    assert NUMERIC.form_values(answer) == {"value": ["234489.6"]}
    assert NUMERIC.parse(d, NUMERIC.form_values(answer)) == answer
    big = {"value": 1234567.0}
    assert NUMERIC.form_values(big) == {"value": ["1234567"]}
    assert NUMERIC.parse(d, NUMERIC.form_values(big)) == big
    assert NUMERIC.review(d, answer)["correct_answer"] == "234489.6 (± 1) TCP port"
    assert NUMERIC.review(numeric(), None)["correct_answer"] == "6514 TCP port"


@pytest.mark.parametrize(("raw", "field"), [
    ({"answer": "6514"}, "answer"), ({"answer": None}, "answer"), ({"answer": True}, "answer"),
    ({"answer": 1, "tolerance": -1}, "tolerance"), ({"answer": 1, "tolerance": "1"}, "tolerance"),
    ({"answer": 1, "tolerance": True}, "tolerance")])
def test_numeric_build_errors(raw, field):
    with pytest.raises(ItemError) as error:
        NUMERIC.build("bank/n", {"prompt": "p", **raw})
    assert error.value.field == field


# --- short text ------------------------------------------------------------------------------

def short(*accepted):
    return SHORT.build("bank/code", {"prompt": "Which code?",
                                     "accepted": list(accepted) or ["KS-5002", "Kestrel Console"]})


@pytest.mark.parametrize("typed", [
    "KS-5002", "ks-5002", "  KS-5002  ", "ＫＳ－５００２", "ｋｓ－５００２",
    "kestrel console", "KESTREL   CONSOLE", "Kestrel\tConsole", "Ｋｅｓｔｒｅｌ　Ｃｏｎｓｏｌｅ"])
def test_short_text_ignores_case_spacing_and_width(typed):
    d = short()
    assert SHORT.score(d, SHORT.parse(d, {"text": [typed]})) == 1.0


@pytest.mark.parametrize("typed", ["KS5002", "KS-500", "Kestrel Consoles", "KestrelConsole",
                                   "KS-5002 or KS-2003"])
def test_short_text_is_otherwise_exact(typed):
    d = short()
    assert SHORT.score(d, SHORT.parse(d, {"text": [typed]})) == 0.0


def test_short_text_accepts_any_listed_answer_and_reviews_the_first():
    d = short("points of presence", "PoPs")
    assert SHORT.score(d, {"text": "pops"}) == 1.0
    assert SHORT.review(d, {"text": "x"})["correct_answer"] == "points of presence"
    assert SHORT.score(d, {"text": ""}) == 0.0


@pytest.mark.parametrize("data", [{}, {"text": [""]}, {"text": ["   "]}, {"text": ["x" * 501]}])
def test_short_text_rejects_empty_and_overlong_answers(data):
    assert invalid_field(SHORT, short(), data) == "text"


def test_short_text_build_needs_an_accepted_answer():
    for accepted in (None, [], ["", "  "]):
        with pytest.raises(ItemError) as error:
            SHORT.build("bank/s", {"prompt": "p", "accepted": accepted})
        assert error.value.field == "accepted"


# --- ordering --------------------------------------------------------------------------------

RIGHT_ORDER = ["Pilot in audit mode", "Tune exclusions", "Broad audit rollout",
               "Switch to block mode"]


def test_ordering_all_or_nothing():
    d = ordering()
    assert ORDERING.score(d, ORDERING.parse(d, positions(d, RIGHT_ORDER))) == 1.0
    swapped = [RIGHT_ORDER[1], RIGHT_ORDER[0], *RIGHT_ORDER[2:]]
    assert ORDERING.score(d, ORDERING.parse(d, positions(d, swapped))) == 0.0


@pytest.mark.parametrize(("order", "expected"), [
    (RIGHT_ORDER, 1.0),
    ([RIGHT_ORDER[1], RIGHT_ORDER[0], *RIGHT_ORDER[2:]], 0.5),
    ([RIGHT_ORDER[0], RIGHT_ORDER[2], RIGHT_ORDER[1], RIGHT_ORDER[3]], 0.5),
    (list(reversed(RIGHT_ORDER)), 0.0),
])
def test_ordering_partial_credits_each_entry_in_its_place(order, expected):
    d = ordering("partial")
    assert ORDERING.score(d, ORDERING.parse(d, positions(d, order))) == expected


def test_ordering_answer_is_the_entry_ids_in_order_and_round_trips():
    d = ordering()
    answer = ORDERING.parse(d, positions(d, list(reversed(RIGHT_ORDER))))
    by_text = {e["text"]: e["id"] for e in d["entries"]}
    assert answer == {"order": [by_text[t] for t in reversed(RIGHT_ORDER)]}
    assert ORDERING.parse(d, ORDERING.form_values(answer)) == answer
    assert ORDERING.review(d, answer)["correct_order"] == RIGHT_ORDER


def test_ordering_positions_must_be_a_permutation():
    d = ordering()
    data = positions(d, RIGHT_ORDER)
    first, second = list(data)[:2]
    data[second] = data[first]  # two entries at position 1, none at 2
    assert invalid_field(ORDERING, d, data) == "order"


@pytest.mark.parametrize("bad", ["", "0", "5", "-1", "one", "1.0"])
def test_ordering_every_entry_needs_a_position_in_range(bad):
    d = ordering()
    data = positions(d, RIGHT_ORDER)
    target = list(data)[2]
    data[target] = [bad]
    assert invalid_field(ORDERING, d, data) == target


def test_ordering_missing_position_names_the_entry():
    d = ordering()
    data = positions(d, RIGHT_ORDER)
    missing = list(data)[3]
    del data[missing]
    assert invalid_field(ORDERING, d, data) == missing


def test_ordering_reads_full_width_digits_and_never_crashes_on_other_digit_forms():
    d = ordering()
    data = {key: [chr(ord(value[0]) - ord("0") + ord("０"))]
            for key, value in positions(d, RIGHT_ORDER).items()}
    assert ORDERING.score(d, ORDERING.parse(d, data)) == 1.0
    data = positions(d, RIGHT_ORDER)
    data[list(data)[1]] = ["²"]  # superscript two: a digit to str.isdigit, not to int()
    assert ORDERING.score(d, ORDERING.parse(d, data)) == 1.0
    data[list(data)[1]] = ["⑵"]
    assert invalid_field(ORDERING, d, data) == list(data)[1]


def test_ordering_rejects_an_unknown_entry_id():
    d = ordering()
    data = {**positions(d, RIGHT_ORDER), "pos-deadbeef0000": ["1"]}
    assert invalid_field(ORDERING, d, data) == "order"
    other = ORDERING.build("bank/other", {"prompt": "p", "order": RIGHT_ORDER})
    assert invalid_field(ORDERING, d, positions(other, RIGHT_ORDER)).startswith("pos-")


def test_ordering_build_errors():
    for order in ([], ["only one"], [str(i) for i in range(9)]):
        with pytest.raises(ItemError) as error:
            ORDERING.build("bank/o", {"prompt": "p", "order": order})
        assert error.value.field == "order"
    with pytest.raises(ItemError) as error:
        ORDERING.build("bank/o", {"prompt": "p", "order": ["a", "b", "a"]})
    assert error.value.field == "order"


# --- matching --------------------------------------------------------------------------------

RIGHT_PAIRS = {"Sentry": "Endpoint detection", "Edge": "Zero-trust access",
               "Cloud Guard": "Posture management", "Console": "Multi-tenant management"}
TWO_SWAPPED = {**RIGHT_PAIRS, "Sentry": "Zero-trust access", "Edge": "Endpoint detection"}


@pytest.mark.parametrize(("scoring", "mapping", "expected"), [
    ("all_or_nothing", RIGHT_PAIRS, 1.0), ("all_or_nothing", TWO_SWAPPED, 0.0),
    ("partial", RIGHT_PAIRS, 1.0), ("partial", TWO_SWAPPED, 0.5),
    ("partial", {**RIGHT_PAIRS, "Sentry": "Posture management"}, 0.75)])
def test_matching_scores(scoring, mapping, expected):
    d = matching(scoring)
    assert MATCHING.score(d, MATCHING.parse(d, matches(d, mapping))) == expected


def test_matching_round_trips_and_reviews_the_pairs():
    d = matching()
    answer = MATCHING.parse(d, matches(d, TWO_SWAPPED))
    assert MATCHING.parse(d, MATCHING.form_values(answer)) == answer
    assert MATCHING.review(d, answer)["correct_pairs"] == list(RIGHT_PAIRS.items())


def test_matching_rejects_an_unmatched_left():
    d = matching()
    data = matches(d, RIGHT_PAIRS)
    unmatched = list(data)[2]
    del data[unmatched]
    assert invalid_field(MATCHING, d, data) == unmatched
    data[unmatched] = [""]
    assert invalid_field(MATCHING, d, data) == unmatched


def test_matching_rejects_an_unknown_right_id():
    d = matching()
    other = MATCHING.build("bank/other", {"prompt": "p", "pairs": [
        {"left": left, "right": right} for left, right in RIGHT_PAIRS.items()]})
    data = matches(d, RIGHT_PAIRS)
    target = list(data)[0]
    data[target] = [other["pairs"][0]["right_id"]]  # same text, another item
    assert invalid_field(MATCHING, d, data) == target
    data[target] = [d["pairs"][0]["left_id"]]  # a left id is not a right id
    assert invalid_field(MATCHING, d, data) == target


def test_matching_build_errors():
    with pytest.raises(ItemError) as error:
        MATCHING.build("bank/m", {"prompt": "p", "pairs": [{"left": "a", "right": "b"}]})
    assert error.value.field == "pairs"
    for pairs in ([{"left": "a", "right": "x"}, {"left": "a", "right": "y"}],
                  [{"left": "a", "right": "x"}, {"left": "b", "right": "x"}]):
        with pytest.raises(ItemError) as error:
            MATCHING.build("bank/m", {"prompt": "p", "pairs": pairs})
        assert error.value.field == "pairs"


# --- build errors of choice items ------------------------------------------------------------

@pytest.mark.parametrize(("kind", "options"), [
    ("single_choice", [{"text": "a"}, {"text": "b"}]),
    ("single_choice", [{"text": "a", "correct": True}, {"text": "b", "correct": True}]),
    ("multiple_response", [{"text": "a"}, {"text": "b"}, {"text": "c"}]),
    ("single_choice", [{"text": "a", "correct": True}]),
    ("multiple_response", [{"text": "a", "correct": True}]),
    ("single_choice", []),
    ("single_choice", [{"text": str(i), "correct": i == 0} for i in range(9)]),
])
def test_choice_build_errors_name_the_options_field(kind, options):
    with pytest.raises(ItemError) as error:
        REGISTRY[kind].build("bank/x", {"prompt": "p", "options": options})
    assert error.value.field == "options"
    assert error.value.message


# --- the public view -------------------------------------------------------------------------

def _walk(value):
    """Every key and every scalar value in a nested structure."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from _walk(inner)
    elif isinstance(value, list | tuple):
        for inner in value:
            yield from _walk(inner)
    else:
        yield value


SECRET_SAMPLES = {
    "single_choice": {"prompt": "P", "explanation": "EXPLAINED-1", "options": [
        {"text": "A", "feedback": "FEEDBACK-1"}, {"text": "B", "correct": True}]},
    "multiple_response": {"prompt": "P", "explanation": "EXPLAINED-2", "scoring": "partial",
                          "options": [{"text": "A", "correct": True, "feedback": "FEEDBACK-2"},
                                      {"text": "B"}, {"text": "C", "correct": True}]},
    "true_false": {"prompt": "P", "answer": False, "explanation": "EXPLAINED-3",
                   "feedback": "FEEDBACK-3"},
    "numeric": {"prompt": "P", "answer": 6514.25, "tolerance": 0.75, "unit": "port",
                "explanation": "EXPLAINED-4"},
    "short_text": {"prompt": "P", "accepted": ["ACCEPTED-5"], "explanation": "EXPLAINED-5"},
    "ordering": {"prompt": "P", "order": ["First", "Second", "Third"],
                 "explanation": "EXPLAINED-6"},
    "matching": {"prompt": "P", "pairs": [{"left": "L1", "right": "R1"},
                                          {"left": "L2", "right": "R2"}],
                 "explanation": "EXPLAINED-7"},
}


@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_public_view_carries_no_key_feedback_or_explanation(kind):
    item = REGISTRY[kind]
    definition = item.build(f"bank/{kind}", SECRET_SAMPLES[kind])
    order = list(reversed(item.shuffle_ids(definition)))
    for view in (item.public(definition, order), item.public(definition, [])):
        keys_and_values = list(_walk(view))
        strings = [str(v).lower() for v in keys_and_values]
        for word in SECRET_WORDS:
            assert not any(word in s for s in strings), (word, view)
        dumped = json.dumps(view)
        for secret in ("EXPLAINED", "FEEDBACK", "ACCEPTED", "6514", "0.75"):
            assert secret not in dumped
        assert not any(isinstance(v, bool) for v in keys_and_values)


def test_public_view_follows_the_frozen_order():
    d = ordering()
    shuffled = [e["id"] for e in reversed(d["entries"])]
    assert [e["id"] for e in ORDERING.public(d, shuffled)["entries"]] == shuffled
    assert ORDERING.public(d, shuffled)["positions"] == [1, 2, 3, 4]
    m = matching()
    rights = [p["right_id"] for p in reversed(m["pairs"])]
    view = MATCHING.public(m, rights)
    assert [r["id"] for r in view["rights"]] == rights
    assert [left["text"] for left in view["lefts"]] == list(RIGHT_PAIRS)
    s = single()
    order = [o["id"] for o in s["options"]][::-1]
    assert [o["id"] for o in SINGLE.public(s, order)["options"]] == order


@pytest.fixture(scope="module")
def shipped_items():
    problems = []
    program = loader.load(Path(PROJECT_ROOT / "content"), problems)
    assert problems == []
    items = {(i.bank_slug, i.key): i for a in program.assessments for i in a.items}
    assert {i.item_type for i in items.values()} == set(REGISTRY)
    return list(items.values())


def test_public_views_of_every_shipped_item_hide_the_key(shipped_items):
    for item in shipped_items:
        kind = REGISTRY[item.item_type]
        view = kind.public(item.definition, kind.shuffle_ids(item.definition))
        assert not set(_keys(view)) & set(SECRET_WORDS), item.key
        dumped = json.dumps(view)
        if item.definition.get("explanation"):
            assert item.definition["explanation"] not in dumped
        for option in item.definition.get("options", []):
            if option["feedback"]:
                assert json.dumps(option["feedback"])[1:-1] not in dumped, item.key


def _keys(value):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from _keys(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _keys(inner)


def test_option_ids_are_opaque(shipped_items):
    seen = set()
    for item in shipped_items:
        d = item.definition
        if item.item_type in ("single_choice", "multiple_response"):
            pairs = [(o["id"], o["text"]) for o in d["options"]]
        elif item.item_type == "ordering":
            pairs = [(e["id"], e["text"]) for e in d["entries"]]
        elif item.item_type == "matching":
            pairs = [(p["left_id"], p["left"]) for p in d["pairs"]] + \
                [(p["right_id"], p["right"]) for p in d["pairs"]]
        else:
            continue
        for option_id, text in pairs:
            assert re.fullmatch(r"[0-9a-f]{12}", option_id)
            assert option_id not in text and text not in option_id
            assert not option_id.isdigit()
        ids_ = [option_id for option_id, _ in pairs]
        assert len(set(ids_)) == len(ids_)
        assert not seen & set(ids_), "ids are unique across items"
        seen.update(ids_)


def test_same_text_in_two_items_gets_different_ids():
    a = SINGLE.build("bank/a", {"prompt": "p", "options": [{"text": "Yes", "correct": True},
                                                          {"text": "No"}]})
    b = SINGLE.build("bank/b", {"prompt": "p", "options": [{"text": "Yes", "correct": True},
                                                          {"text": "No"}]})
    assert ids(a, "Yes") != ids(b, "Yes")
    assert ids(a, "Yes") == ids(SINGLE.build("bank/a", {"prompt": "changed", "options": [
        {"text": "Yes", "correct": True}, {"text": "No"}]}), "Yes"), "stable across rebuilds"
