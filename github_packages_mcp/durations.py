"""Durations as people write them, for every argument and setting that counts days, and for the ages `since` and
`until` take: `30d`, `2w 3d`, `36h`, `1y`, and for days a bare number (`90`, `1.5`) as before.

Units: `h` hours, `d` days, `w` weeks (7 days), `y` years of 365 days (no calendar: a leap day is not counted), and
for ages only, `m` minutes. A day count refuses `m`, which could mean minutes or months: a cleanup that read `6m`
as six minutes would plan to delete nearly everything. Parts may repeat and come in any order, with or without
spaces between them; a duration is at most `MAX_DURATION_LENGTH` characters.

`Days` and `WholeDays` are the argument types: a number of days in code, plans, journals and saved formats; in the
published schema text (a number is still accepted). This module imports nothing of the package, so every layer can
use it.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

__all__ = [
    "AGE_UNITS",
    "DAY_UNITS",
    "MAX_DURATION_LENGTH",
    "Days",
    "WholeDays",
    "days_from_text",
    "duration_days",
    "whole_days_from_text",
]

MAX_DURATION_LENGTH = 40  # "52w 6d 23h" needs 10; a bound keeps a megabyte out of the parser
DAYS_PER_UNIT = {"m": 1 / 1440, "h": 1 / 24, "d": 1.0, "w": 7.0, "y": 365.0}
DAY_UNITS = "hdwy"
AGE_UNITS = "mhdwy"
# ASCII only: `\d` would take other scripts' digits, which people do not type for this and float() would read.
_NUMBER = r"\d{1,9}(?:\.\d{1,9})?"
_PART = re.compile(rf"({_NUMBER})\s*([a-z])", re.ASCII)
_PARTS = re.compile(rf"(?:\s*{_NUMBER}\s*[a-z])+\s*", re.ASCII)
_BARE_NUMBER = re.compile(rf"\s*({_NUMBER})\s*", re.ASCII)
DAYS_EXPECTED = "expected days as a number or a duration such as 30d, 2w 3d, 36h, 1y"


def duration_days(text: str, units: str = DAY_UNITS) -> float | None:
    """The days a duration made of `units` spans (`2w 3d`: 17.0), or None when `text` is not one."""
    lowered = text.lower()
    if len(text) > MAX_DURATION_LENGTH or not _PARTS.fullmatch(lowered):
        return None
    parts = _PART.findall(lowered)
    if any(unit not in units for _, unit in parts):
        return None
    return sum(float(number) * DAYS_PER_UNIT[unit] for number, unit in parts)


def days_from_text(value: Any) -> Any:
    """A day count given as text (`"90"`, `"2w 3d"`) as a number of days; anything else is left to the number's
    own validation.

    Raises:
        PydanticCustomError: If `value` is text but neither a number nor a duration.
    """
    if not isinstance(value, str):
        return value
    if (bare := _BARE_NUMBER.fullmatch(value)) and len(value) <= MAX_DURATION_LENGTH:
        return float(bare[1])
    if (days := duration_days(value)) is None:
        if duration_days(value, AGE_UNITS) is not None:  # has `m`
            raise PydanticCustomError("days", f"{DAYS_EXPECTED} (m could be minutes or months: write 180d or 26w)")
        raise PydanticCustomError("days", DAYS_EXPECTED)
    return days


def whole_days_from_text(value: Any) -> Any:
    """As `days_from_text`, for arguments that count whole days: `6w` is 42; `36h` is refused.

    Raises:
        PydanticCustomError: If `value` is text but not a whole number of days.
    """
    if not isinstance(value, str):
        return value
    days = days_from_text(value)  # its error says what a day count may be
    if not float(days).is_integer():
        raise PydanticCustomError("whole_days", f"expected whole days, not {days:g}, such as 90, 90d, 12w, 1y")
    return int(days)


class _TextToo:
    """Publishes a day count as text (`"90"`, `"2w 3d"`), bounded; a number is still accepted. One type, because the
    schemas that say both refuse somewhere: a list of types fails Ajv's strict mode (the TypeScript SDK's validator),
    and `anyOf` some model providers' function schemas (`toolkit/schemas.py`)."""

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        number = handler(schema)
        described: dict[str, Any] = {key: number[key] for key in ("title", "description") if key in number}
        return {**described, "type": "string", "maxLength": MAX_DURATION_LENGTH}


# The checks sit inside the text's conversion, so they apply to the days it gives, and publish as JSON Schema's own
# `minimum` (outside, pydantic would publish its own name, `ge`).
Days = Annotated[float, Field(ge=0, allow_inf_nan=False), BeforeValidator(days_from_text), _TextToo()]
WholeDays = Annotated[int, Field(strict=True, ge=1), BeforeValidator(whole_days_from_text), _TextToo()]
