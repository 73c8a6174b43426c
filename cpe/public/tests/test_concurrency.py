"""Queries arriving together: the limits hold exactly and a proof is spent once, because the
cache (Redis in production) counts and records atomically.

The race is real on Redis, where each cache call releases the interpreter: with the checks
alone (no decision on the atomic count) all ten queries of the first test were answered.
In-process the threads barely interleave, so there these tests only show nothing breaks."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import pytest
from django.db import connection

from cpe.public.pow import proof_solve
from cpe.public.query import (
    Proof,
    QueryNoMatch,
    QueryProofNeeded,
    QueryTooMany,
    challenge_for,
    credit_query_run,
)
from cpe.public.tests.conftest import NAME
from cpe.registry.testing import make_id_number

pytestmark = pytest.mark.django_db(transaction=True)


def together(count: int, query: Callable[[int], object]) -> Counter:
    """Run `query(index)` in `count` threads released at once; count the outcomes by kind."""
    barrier = threading.Barrier(count)
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def run(index: int) -> None:
        barrier.wait()
        try:
            query(index)
            outcome = "answered"
        except QueryNoMatch:
            outcome = "no_match"
        except QueryTooMany:
            outcome = "too_many"
        except QueryProofNeeded:
            outcome = "proof_needed"
        finally:
            connection.close()
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_queries_of_one_id_number_at_once_get_exactly_the_limit(regions, settings):
    settings.PUBLIC_QUERY_FREE = "100/600"
    number = make_id_number(sequence=950)

    outcomes = together(
        10, lambda index: credit_query_run(ip=f"198.51.100.{index}", id_number=number, name=NAME)
    )

    assert outcomes == Counter(no_match=5, too_many=5)


def test_one_proof_sent_many_times_at_once_is_accepted_once(regions, settings):
    settings.PUBLIC_QUERY_RATE_ID = "100/3600"
    settings.PUBLIC_QUERY_RATE_IP = "100/3600"
    ip = "203.0.113.5"
    for sequence in range(3):
        with pytest.raises(QueryNoMatch):
            credit_query_run(ip=ip, id_number=make_id_number(sequence=960 + sequence), name=NAME)
    challenge = challenge_for(ip)
    assert challenge is not None
    proof = Proof(challenge=challenge.token, counter=proof_solve(challenge.token, challenge.bits))

    outcomes = together(
        8,
        lambda index: credit_query_run(
            ip=ip, id_number=make_id_number(sequence=970 + index), name=NAME, proof=proof
        ),
    )

    assert outcomes == Counter(no_match=1, proof_needed=7)


def test_queries_from_one_address_at_once_get_exactly_the_free_ones_without_a_proof(
    regions, settings
):
    settings.PUBLIC_QUERY_RATE_ID = "100/3600"
    settings.PUBLIC_QUERY_RATE_IP = "100/3600"
    ip = "203.0.113.8"

    outcomes = together(
        10,
        lambda index: credit_query_run(
            ip=ip, id_number=make_id_number(sequence=980 + index), name=NAME
        ),
    )
    challenge = challenge_for(ip)

    assert outcomes == Counter(no_match=3, proof_needed=7)
    # The refused ones gave their places back: the next query needs the first difficulty.
    assert challenge is not None and challenge.bits == settings.PUBLIC_QUERY_POW_BITS
