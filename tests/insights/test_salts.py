"""The daily salt policy (insights.salts): plain functions."""

from insights import keys, salts
from telemetry.units import DAY_MS

NOW = 1_795_000_000_123


def test_a_new_salt_is_random():
    assert salts.new_salt() != salts.new_salt()


def test_a_new_salt_has_128_random_bits():
    assert len(bytes.fromhex(salts.new_salt())) == 16


def test_making_a_salt_deletes_the_salts_of_the_days_before():
    assert salts.stale_salt_keys(NOW) == [
        keys.visitor_salt_key(NOW - DAY_MS),
        keys.visitor_salt_key(NOW - 2 * DAY_MS),
    ]


def test_todays_salt_is_never_stale():
    assert keys.visitor_salt_key(NOW) not in salts.stale_salt_keys(NOW)
