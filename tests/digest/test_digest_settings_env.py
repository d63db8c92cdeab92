"""DIGEST_HOUR and DIGEST_BATCH_SIZE come from the environment; a value that is none
stops start-up naming it (as every setting of cascade/settings.py does)."""

from __future__ import annotations

import pytest

from ..test_settings_checks import check


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DIGEST_HOUR", "24"),
        ("DIGEST_HOUR", "-1"),
        ("DIGEST_HOUR", "seven"),
        ("DIGEST_BATCH_SIZE", "0"),
    ],
)
def test_a_bad_digest_setting_stops_start_up_naming_it(name, value):
    result = check(**{name: value})
    assert result.returncode != 0
    assert name in result.stderr


def test_the_digest_settings_take_a_sound_value():
    assert check(DIGEST_HOUR="0", DIGEST_BATCH_SIZE="50").returncode == 0
