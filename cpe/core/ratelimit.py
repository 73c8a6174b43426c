"""Fixed-window rate limits kept in the cache (Redis in production, so all workers share them)."""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import math
import time

from django.core.cache import cache


def parse_rate(rate: str) -> tuple[int, int]:
    """'10/300' means ten attempts per 300 seconds."""
    count, _, seconds = rate.partition("/")
    return int(count), int(seconds or 60)


def address_network(ip: str) -> str:
    """The identity a per-address limit counts: an IPv4 address whole, an IPv6 address by its
    /64, as one subscriber is routinely given a whole /64 and could otherwise take a fresh
    address for every attempt. An IPv4-mapped IPv6 address counts as its IPv4 address."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:  # "unknown", or already a network
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def _key(scope: str, identity: str) -> str:
    digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
    return f"rl:{scope}:{digest}"


def rate_limit_increment(*, scope: str, identity: str, rate: str) -> int:
    """Count one attempt and return the window's count with it, from one atomic increment:
    attempts arriving together each see their own number, never the same one."""
    _limit, window = parse_rate(rate)
    key = _key(scope, identity)
    if cache.add(key, 1, timeout=window):
        cache.set(f"{key}:ends", time.time() + window, timeout=window)
        return 1
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window)
        cache.set(f"{key}:ends", time.time() + window, timeout=window)
        return 1


def rate_limit_hit(*, scope: str, identity: str, rate: str) -> bool:
    """Count one attempt; True when this attempt is over the limit."""
    limit, _window = parse_rate(rate)
    return rate_limit_increment(scope=scope, identity=identity, rate=rate) > limit


def rate_limit_refund(*, scope: str, identity: str) -> None:
    """Take back one counted attempt (atomically), for an attempt that turned out not to count."""
    with contextlib.suppress(ValueError):  # the window ended meanwhile: nothing to take back
        cache.decr(_key(scope, identity))


def rate_limit_blocked(*, scope: str, identity: str, rate: str) -> bool:
    """True when earlier attempts already used up the limit (counts nothing)."""
    limit, _ = parse_rate(rate)
    return int(cache.get(_key(scope, identity), 0)) >= limit


def rate_limit_reset(*, scope: str, identity: str) -> None:
    key = _key(scope, identity)
    cache.delete_many([key, f"{key}:ends"])


def rate_limit_count(*, scope: str, identity: str) -> int:
    """How many attempts the current window holds (counts nothing)."""
    return int(cache.get(_key(scope, identity), 0))


def rate_limit_retry_after(*, scope: str, identity: str, rate: str) -> int:
    """Whole seconds until the current window ends (the whole window when it is not known)."""
    _limit, window = parse_rate(rate)
    ends = cache.get(f"{_key(scope, identity)}:ends")
    if ends is None:
        return window
    return max(1, min(window, math.ceil(float(ends) - time.time())))
