"""Day counts as people write them (`durations.py`): what is accepted, what it means, and what is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from github_packages_mcp.durations import MAX_DURATION_LENGTH, Days, WholeDays
from github_packages_mcp.errors import InvalidArguments
from github_packages_mcp.retention.history import parse_moment


class Arguments(BaseModel):
    days: Days | None = None
    whole: WholeDays = 90


GOOD = {
    "30d": 30,
    "2w 3d": 17,
    "3d 2w": 17,
    "2w3d": 17,
    " 2w   3d ": 17,
    "36h": 1.5,
    "1y": 365,
    "1Y 1D": 366,
    "90": 90,
    "1.5": 1.5,
    "0": 0,
    "0.5w": 3.5,
    "12 h": 0.5,
    "1d 1d": 2,
}
BAD = [
    "3 fortnights",
    "",
    "   ",
    "d",
    "30 days",
    "6m",  # minutes or months: refused for days
    "-3d",
    "1e3",
    "nan",
    "inf",
    "1,5",
    "2w-3d",
    "30s",
    "1" * 10 + "d",
    "\u0663d",  # an Arabic-Indic 3
    "1d" * (MAX_DURATION_LENGTH // 2 + 1),
]


@pytest.mark.parametrize(("text", "days"), GOOD.items())
def test_a_day_count_may_be_a_number_or_a_duration(text: str, days: float) -> None:
    assert Arguments.model_validate({"days": text}).days == days


@pytest.mark.parametrize("text", BAD)
def test_anything_else_is_refused_saying_what_is_allowed(text: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Arguments.model_validate({"days": text})
    [error] = refused.value.errors()
    assert error["loc"] == ("days",)
    assert error["msg"].startswith("expected days as a number or a duration such as 30d, 2w 3d, 36h, 1y")
    assert error["input"] == text


def test_m_is_refused_with_the_reason() -> None:
    with pytest.raises(ValidationError, match="m could be minutes or months: write 180d or 26w"):
        Arguments.model_validate({"days": "6m"})


def test_numbers_stay_numbers_and_keep_their_bounds() -> None:
    assert Arguments.model_validate({"days": 17}).days == 17.0
    assert Arguments.model_validate({"days": None}).days is None
    for refused in (-1, float("inf"), float("nan")):
        with pytest.raises(ValidationError):
            Arguments.model_validate({"days": refused})


def test_whole_days_refuse_a_part_of_a_day_and_numbers_as_before() -> None:
    assert Arguments.model_validate({"whole": "12w"}).whole == 84
    assert Arguments.model_validate({"whole": "1y"}).whole == 365
    assert Arguments.model_validate({"whole": "90"}).whole == 90
    assert Arguments.model_validate({"whole": "48h"}).whole == 2
    with pytest.raises(ValidationError, match=r"expected whole days, not 1\.5, such as 90, 90d, 12w, 1y"):
        Arguments.model_validate({"whole": "36h"})
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        Arguments.model_validate({"whole": "0d"})
    with pytest.raises(ValidationError):  # strict, as before: a whole-number float is not an integer
        Arguments.model_validate({"whole": 90.0})


def test_the_schema_publishes_bounded_text_and_numbers_are_still_taken() -> None:
    # One type: a list of types fails Ajv's strict mode, `anyOf` some model providers (tests/interop, toolsnaps).
    schema = Arguments.model_json_schema()["properties"]
    assert schema["days"]["anyOf"][0] == {"type": "string", "maxLength": 40}
    assert (schema["whole"]["type"], schema["whole"]["maxLength"]) == ("string", 40)
    assert Arguments.model_validate({"days": 30, "whole": 90}).model_dump() == {"days": 30.0, "whole": 90}


UNITS = {"h": 1 / 24, "d": 1, "w": 7, "y": 365}
part = st.tuples(st.integers(0, 999), st.sampled_from(sorted(UNITS)), st.sampled_from(["", " ", "  "]))


@given(st.lists(part, min_size=1, max_size=4), st.sampled_from([" ", "", "\t"]))
def test_any_sum_of_parts_is_the_days_it_says(parts: list[tuple[int, str, str]], between: str) -> None:
    text = between.join(f"{number}{space}{unit}" for number, unit, space in parts)
    expected = sum(number * UNITS[unit] for number, unit, _ in parts)
    assert Arguments.model_validate({"days": text}).days == pytest.approx(expected)


@given(st.text(max_size=60))
def test_any_text_is_days_or_the_one_clear_refusal(text: str) -> None:
    refusals: list[str] = []
    try:
        days = Arguments.model_validate({"days": text}).days
    except ValidationError as refused:
        refusals = [error["type"] for error in refused.errors()]
    else:
        assert days is not None and 0 <= days < float("inf")
    assert refusals in ([], ["days"])


def test_since_and_until_take_the_same_ages_and_minutes() -> None:
    now = datetime(2026, 5, 1, 12, tzinfo=UTC)
    assert parse_moment("since", "2w 3d", now) == now - timedelta(days=17)
    assert parse_moment("since", "90m", now) == now - timedelta(minutes=90)
    assert parse_moment("since", "999999y", now) == datetime.min.replace(tzinfo=UTC)
    with pytest.raises(InvalidArguments, match="since: an ISO 8601 date or time"):
        parse_moment("since", "3 fortnights", now)
