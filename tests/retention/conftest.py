"""What the retention tests share: a clock that stands still."""

from __future__ import annotations

import pytest

from tests.helpers import StoppedClock


@pytest.fixture
def clock() -> StoppedClock:
    return StoppedClock()
