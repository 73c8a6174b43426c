"""Rate limits say how long is left of their window, for a Retry-After that tells the truth."""

from __future__ import annotations

import time

from cpe.core.ratelimit import (
    address_network,
    rate_limit_blocked,
    rate_limit_count,
    rate_limit_hit,
    rate_limit_reset,
    rate_limit_retry_after,
)


def test_the_time_left_counts_down_from_the_first_attempt_of_the_window(monkeypatch):
    start = time.time()
    monkeypatch.setattr("cpe.core.ratelimit.time.time", lambda: start)
    assert rate_limit_hit(scope="t", identity="a", rate="2/600") is False
    monkeypatch.setattr("cpe.core.ratelimit.time.time", lambda: start + 100)
    assert rate_limit_hit(scope="t", identity="a", rate="2/600") is False

    assert rate_limit_count(scope="t", identity="a") == 2
    assert rate_limit_blocked(scope="t", identity="a", rate="2/600")
    assert rate_limit_retry_after(scope="t", identity="a", rate="2/600") == 500


def test_without_a_window_the_whole_window_is_the_answer_and_a_reset_forgets_both():
    assert rate_limit_retry_after(scope="t", identity="b", rate="2/600") == 600
    rate_limit_hit(scope="t", identity="b", rate="2/60")
    rate_limit_reset(scope="t", identity="b")

    assert rate_limit_count(scope="t", identity="b") == 0
    assert rate_limit_retry_after(scope="t", identity="b", rate="2/60") == 60


def test_an_ipv6_address_counts_by_its_64_and_an_ipv4_address_whole():
    assert address_network("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert address_network("2001:db8:1:2::ffff") == "2001:db8:1:2::/64"
    assert address_network("::ffff:198.51.100.4") == "198.51.100.4"
    assert address_network("198.51.100.4") == "198.51.100.4"
    assert address_network("unknown") == "unknown"
