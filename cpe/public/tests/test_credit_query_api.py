"""The public credit query through its API: the answer, the one "no match", the limits per
address and per ID number, the proof-of-work, and nothing stored in plaintext."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from cpe.core.services import Actor
from cpe.core.testing import database_dump
from cpe.learning.testing import collected_learner
from cpe.public.pow import challenge_issue, proof_solve
from cpe.public.tests.conftest import NAME, URL
from cpe.registry.services import learner_deregister
from cpe.registry.testing import make_id_number

pytestmark = pytest.mark.django_db

UNKNOWN = make_id_number("420102", sequence=901)  # valid, nobody collected


def solved(response: Any) -> dict[str, str]:
    """The proof fields that answer a 428's challenge."""
    challenge = response.json()["challenge"]
    return {
        "pow_challenge": challenge["token"],
        "pow_counter": proof_solve(challenge["token"], challenge["bits"]),
    }


def use_free_queries(ask: Any, ip: str = "203.0.113.5", count: int = 3) -> None:
    for sequence in range(count):
        response = ask({"id_number": make_id_number(sequence=800 + sequence), "name": NAME}, ip=ip)
        assert response.status_code == 404


def test_a_person_sees_each_required_year_with_status_and_credits_and_the_id_masked(
    ask, person, id_number, this_year
):
    response = ask({"id_number": id_number, "name": NAME})

    assert response.status_code == 200
    body = response.json()
    assert body["id_number_masked"] == id_number[:6] + "********" + id_number[-4:]
    assert body["name"] == NAME
    assert id_number not in response.content.decode()
    years = {y["year"]: y for y in body["years"]}
    assert list(years) == [this_year, this_year - 1, this_year - 2]
    assert years[this_year]["status"] == "not_started"
    assert years[this_year - 1]["status"] == "in_progress"
    assert float(years[this_year - 1]["professional_credits"]) == 20
    done = years[this_year - 2]
    assert done["status"] == "complete" and done["complete"] is True
    assert float(done["total_credits"]) == 90
    assert float(done["professional_credits"]) == 60
    assert float(done["public_credits"]) == 30
    assert done["completed_on"] is not None
    # Nothing else of the record: no mobile, employer, district or birth date.
    assert set(body) == {"name", "id_number_masked", "year", "complete", "years"}
    assert person.mobile not in response.content.decode()
    assert "no-store" in response["Cache-Control"]


def test_an_office_asking_for_one_year_is_told_whether_it_is_complete(
    ask, person, id_number, this_year
):
    complete = ask({"id_number": id_number, "name": NAME, "year": this_year - 2}).json()
    begun = ask({"id_number": id_number, "name": NAME, "year": this_year - 1}).json()

    assert complete["complete"] is True and [y["year"] for y in complete["years"]] == [
        this_year - 2
    ]
    assert begun["complete"] is False
    assert begun["years"][0]["status"] == "in_progress"


def test_a_lowercase_x_and_spaces_in_the_id_number_are_accepted(ask, regions):
    learner = collected_learner(district=regions["420102"], sequence=1)
    number = learner.reveal_id_number()
    assert number.endswith("X")
    typed = f"{number[:6]} {number[6:14]} {number[14:]}".lower()

    assert ask({"id_number": typed, "name": NAME}).status_code == 200


def test_it_refuses_a_malformed_id_number_with_a_field_error_and_counts_nothing(ask, id_number):
    wrong_check = id_number[:17] + ("0" if id_number[17] != "0" else "1")

    response = ask({"id_number": wrong_check, "name": "A", "year": 1800})

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert set(body["fields"]) == {"id_number", "name", "year"}
    assert body["fields"]["id_number"] == ["身份证号码有误：最后一位校验码不符，请核对。"]
    # Malformed queries look nothing up and use none of the free queries.
    for _ in range(5):
        ask({"id_number": "123", "name": NAME})
    assert ask({"id_number": id_number, "name": NAME}).status_code == 200


def test_a_year_that_is_not_a_number_is_a_422_in_the_one_error_format(ask, id_number):
    response = ask({"id_number": id_number, "name": NAME, "year": "last"})

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert "year" in response.json()["fields"]


def test_an_unknown_person_and_a_wrong_name_get_the_same_answer_byte_for_byte(
    ask, person, id_number
):
    unknown = ask({"id_number": UNKNOWN, "name": NAME})
    wrong_name = ask({"id_number": id_number, "name": "张晓"})

    assert unknown.status_code == wrong_name.status_code == 404
    assert unknown.content == wrong_name.content
    assert unknown.json()["code"] == "no_match"
    assert sorted(unknown.headers.items()) == sorted(wrong_name.headers.items())


def test_both_kinds_of_no_match_run_the_same_queries(person, id_number):
    from cpe.public.query import QueryNoMatch, credit_query_run

    def queries(**query: str) -> list[str]:
        with CaptureQueriesContext(connection) as captured, pytest.raises(QueryNoMatch):
            credit_query_run(ip="198.51.100.1", **query)  # type: ignore[arg-type]
        # The same statements; only the values bound to them differ.
        return [q["sql"].split(" WHERE ")[0] for q in captured.captured_queries]

    cache.clear()
    unknown = queries(id_number=UNKNOWN, name=NAME)
    cache.clear()
    wrong_name = queries(id_number=id_number, name="张晓")
    assert unknown == wrong_name
    assert len(unknown) == 3  # the person, their years, the region's rules


def test_a_deregistered_person_shows_the_years_in_the_ledger_and_nothing_about_why(
    ask, person, id_number, users, this_year
):
    learner_deregister(
        actor=Actor(user=users["district_officer"]), learner=person, reason="调离会计岗位"
    )

    response = ask({"id_number": id_number, "name": NAME})

    assert response.status_code == 200
    assert [y["year"] for y in response.json()["years"]] == [this_year - 1, this_year - 2]
    assert "调离" not in response.content.decode()
    assert "deregistered" not in response.content.decode()


def test_each_address_is_limited_and_told_when_to_try_again(ask, settings):
    settings.PUBLIC_QUERY_FREE = "100/600"  # the hard limit alone
    for sequence in range(8):
        ask({"id_number": make_id_number(sequence=700 + sequence), "name": NAME})

    response = ask({"id_number": make_id_number(sequence=799), "name": NAME}, accept_language="en")
    other_address = ask({"id_number": make_id_number(sequence=799), "name": NAME}, ip="192.0.2.9")

    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "too_many_queries"
    assert 3500 <= int(response["Retry-After"]) <= 3600
    assert body["retry_after"] == int(response["Retry-After"])
    assert body["fields"] == {}
    assert re.fullmatch(
        r"Too many queries from your address\. Try again after \d\d:\d\d \(in about 60 minutes\)\.",
        body["message"],
    )
    assert other_address.status_code == 404


def test_one_id_number_is_limited_across_addresses(ask, person, id_number):
    for index in range(5):
        response = ask({"id_number": id_number, "name": NAME}, ip=f"198.51.100.{index}")
        assert response.status_code == 200

    refused = ask({"id_number": id_number, "name": NAME}, ip="198.51.100.77")
    other_person = ask({"id_number": UNKNOWN, "name": NAME}, ip="198.51.100.77")

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert other_person.status_code == 404


def test_an_unknown_id_number_is_limited_like_a_known_one(ask):
    for index in range(5):
        ask({"id_number": UNKNOWN, "name": NAME}, ip=f"198.51.100.{index}")

    assert ask({"id_number": UNKNOWN, "name": NAME}, ip="198.51.100.99").status_code == 429


def test_the_address_is_read_through_the_configured_proxies(ask, settings):
    settings.NUM_PROXIES = 1
    for index in range(3):
        # One proxy in front: its REMOTE_ADDR is the same, the forwarded client differs.
        ask(
            {"id_number": make_id_number(sequence=600 + index), "name": NAME},
            ip="10.0.0.1",
            x_forwarded_for="203.0.113.50",
        )
    spoofed = ask(
        {"id_number": UNKNOWN, "name": NAME},
        ip="10.0.0.1",
        x_forwarded_for="1.2.3.4, 203.0.113.50",  # the client's own prefix is not believed
    )
    another_client = ask(
        {"id_number": UNKNOWN, "name": NAME}, ip="10.0.0.1", x_forwarded_for="203.0.113.51"
    )

    assert spoofed.status_code == 428
    assert another_client.status_code == 404


def test_a_proof_of_work_is_required_after_the_free_queries(ask, person, id_number, settings):
    use_free_queries(ask)

    response = ask({"id_number": id_number, "name": NAME})

    assert response.status_code == 428
    body = response.json()
    assert body["code"] == "proof_of_work_required"
    assert body["challenge"]["bits"] == settings.PUBLIC_QUERY_POW_BITS
    assert body["challenge"]["algorithm"] == "sha256-leading-zero-bits"
    assert body["challenge"]["expires_in"] == 300


def test_a_correct_proof_is_accepted_and_the_next_one_is_harder(ask, person, id_number, settings):
    use_free_queries(ask)
    first = ask({"id_number": id_number, "name": NAME})

    answered = ask({"id_number": id_number, "name": NAME, **solved(first)})
    second = ask({"id_number": id_number, "name": NAME})

    assert answered.status_code == 200
    assert second.status_code == 428
    assert second.json()["challenge"]["bits"] == settings.PUBLIC_QUERY_POW_BITS + 1


def test_the_difficulty_stops_at_its_maximum(ask, settings):
    settings.PUBLIC_QUERY_RATE_IP = settings.PUBLIC_QUERY_RATE_ID = "100/3600"
    settings.PUBLIC_QUERY_POW_MAX_BITS = 6
    use_free_queries(ask)
    bits = []
    for sequence in range(4):
        query = {"id_number": make_id_number(sequence=500 + sequence), "name": NAME}
        challenge = ask(query)
        bits.append(challenge.json()["challenge"]["bits"])
        assert ask({**query, **solved(challenge)}).status_code == 404

    assert bits == [4, 5, 6, 6]


def test_a_wrong_proof_is_refused_with_a_new_challenge(ask, person, id_number):
    use_free_queries(ask)
    challenge = ask({"id_number": id_number, "name": NAME})
    proof = solved(challenge)
    # The next counter is almost never also a solution; find one that is not.
    counter = int(proof["pow_counter"]) + 1
    from cpe.public.pow import leading_zero_bits, proof_digest

    while leading_zero_bits(proof_digest(proof["pow_challenge"], str(counter))) >= 4:
        counter += 1

    response = ask({"id_number": id_number, "name": NAME, **proof, "pow_counter": str(counter)})

    assert response.status_code == 428
    assert response.json()["code"] == "proof_of_work_invalid"
    assert response.json()["challenge"]["token"] != proof["pow_challenge"]


def test_a_spent_proof_cannot_be_replayed(ask, person, id_number, settings):
    settings.PUBLIC_QUERY_POW_MAX_BITS = 4  # the replay is not refused as too easy
    use_free_queries(ask)
    proof = solved(ask({"id_number": id_number, "name": NAME}))

    assert ask({"id_number": id_number, "name": NAME, **proof}).status_code == 200
    replayed = ask({"id_number": id_number, "name": NAME, **proof})

    assert replayed.status_code == 428
    assert replayed.json()["code"] == "proof_of_work_invalid"


def test_an_expired_proof_is_refused(ask, person, id_number, monkeypatch):
    use_free_queries(ask)
    issued = time.time() - 301
    with monkeypatch.context() as patch:
        patch.setattr("django.core.signing.time.time", lambda: issued)
        challenge = challenge_issue(ip="203.0.113.5", bits=4)
    proof = {
        "pow_challenge": challenge.token,
        "pow_counter": proof_solve(challenge.token, challenge.bits),
    }

    response = ask({"id_number": id_number, "name": NAME, **proof})

    assert response.status_code == 428
    assert response.json()["code"] == "proof_of_work_invalid"


def test_a_proof_solved_for_another_address_is_refused(ask, person, id_number):
    use_free_queries(ask, ip="203.0.113.5")
    use_free_queries(ask, ip="203.0.113.6")
    proof = solved(ask({"id_number": id_number, "name": NAME}, ip="203.0.113.6"))

    response = ask({"id_number": id_number, "name": NAME, **proof}, ip="203.0.113.5")

    assert response.status_code == 428
    assert response.json()["code"] == "proof_of_work_invalid"


def test_a_forged_or_too_easy_challenge_is_refused(ask, person, id_number):
    use_free_queries(ask)
    easy = challenge_issue(ip="203.0.113.5", bits=1)  # signed, but easier than required
    forged = easy.token[:-3] + ("AAA" if not easy.token.endswith("AAA") else "BBB")

    for token in (easy.token, forged):
        response = ask(
            {
                "id_number": id_number,
                "name": NAME,
                "pow_challenge": token,
                "pow_counter": proof_solve(token, 1),
            }
        )
        assert response.status_code == 428
        assert response.json()["code"] == "proof_of_work_invalid"


def test_the_challenge_call_says_when_a_proof_is_needed(ask):
    client = Client()
    before = client.get(f"{URL}/challenge", REMOTE_ADDR="203.0.113.5").json()
    use_free_queries(ask)
    after = client.get(f"{URL}/challenge", REMOTE_ADDR="203.0.113.5")

    assert before == {"required": False, "challenge": None}
    assert after.json()["required"] is True
    assert after.json()["challenge"]["bits"] == 4
    proof_token = after.json()["challenge"]["token"]
    query = {"id_number": UNKNOWN, "name": NAME, "pow_challenge": proof_token}
    query["pow_counter"] = proof_solve(proof_token, 4)
    assert ask(query).status_code == 404


def test_a_signed_in_session_changes_nothing(person, id_number, users, client_for):
    client = client_for(users["superuser"])
    for sequence in range(3):
        client.post(
            URL,
            {"id_number": make_id_number(sequence=400 + sequence), "name": NAME},
            content_type="application/json",
        )

    response = client.post(
        URL, {"id_number": id_number, "name": NAME}, content_type="application/json"
    )

    assert response.status_code == 428


def test_no_plaintext_id_number_is_kept_in_the_cache_or_the_database(
    ask, person, id_number, settings
):
    use_free_queries(ask)
    proof = solved(ask({"id_number": id_number, "name": NAME}))
    ask({"id_number": id_number, "name": NAME, **proof})
    ask({"id_number": UNKNOWN, "name": "王五"})

    stored = cache_dump()
    assert stored, "the limits are counted in the cache"
    for number in (id_number, UNKNOWN):
        assert number not in stored and number[:17] not in stored
        assert number not in database_dump()
    assert "王五" not in stored and "王五" not in database_dump()


def cache_dump() -> str:
    """Every key and value of the cache as text (Redis or the in-process cache)."""
    backend = cache._cache  # type: ignore[attr-defined]
    if hasattr(backend, "get_client"):  # Django's RedisCache
        client = backend.get_client()
        parts = []
        for key in client.scan_iter("*"):
            parts.append(repr(key))
            if client.type(key) == b"string":
                parts.append(repr(client.get(key)))
        return "\n".join(parts)
    return "\n".join(f"{key!r} {value!r}" for key, value in backend.items())


def test_the_openapi_document_describes_the_challenge_and_the_refusals():
    document = json.loads(Client().get("/api/v1/openapi.json").content)
    operation = document["paths"][URL]["post"]

    assert set(operation["responses"]) >= {"200", "401", "404", "422", "428", "429"}
    schemas = document["components"]["schemas"]
    assert {"token", "bits", "expires_in", "algorithm"} <= set(
        schemas["ChallengeOut"]["properties"]
    )
    assert {"pow_challenge", "pow_counter", "year"} <= set(schemas["QueryIn"]["properties"])
    assert "bearer" in json.dumps(document["components"]["securitySchemes"]).lower()


def test_a_body_that_is_not_json_is_a_400_and_a_missing_field_a_422():
    client = Client()
    broken = client.post(URL, "{not json", content_type="application/json")
    missing = client.post(URL, {"name": NAME}, content_type="application/json")

    assert broken.status_code == 400 and broken.json()["code"] == "bad_request"
    assert missing.status_code == 422 and list(missing.json()["fields"]) == ["id_number"]


def test_the_addresses_of_one_ipv6_64_share_the_free_queries_and_the_limit(ask, settings):
    for index in range(3):
        ask(
            {"id_number": make_id_number(sequence=810 + index), "name": NAME},
            ip=f"2001:db8:1:2::{index + 1:x}",
        )

    next_in_the_64 = ask({"id_number": UNKNOWN, "name": NAME}, ip="2001:db8:1:2:ffff::9")
    next_64 = ask({"id_number": UNKNOWN, "name": NAME}, ip="2001:db8:1:3::1")

    assert next_in_the_64.status_code == 428
    assert next_64.status_code == 404

    settings.PUBLIC_QUERY_FREE = "100/600"  # the hard limit alone
    for index in range(5):
        ask(
            {"id_number": make_id_number(sequence=820 + index), "name": NAME},
            ip=f"2001:db8:1:2::{index + 100:x}",
        )
    assert ask({"id_number": UNKNOWN, "name": NAME}, ip="2001:db8:1:2::abcd").status_code == 429


def test_a_proof_solved_on_one_address_of_a_64_holds_on_another_of_it(ask, person, id_number):
    challenge = challenge_issue(ip="2001:db8:5::1", bits=4)
    proof = {
        "pow_challenge": challenge.token,
        "pow_counter": proof_solve(challenge.token, challenge.bits),
    }
    use_free_queries(ask, ip="2001:db8:5::2")

    response = ask({"id_number": id_number, "name": NAME, **proof}, ip="2001:db8:5::2")

    assert response.status_code == 200


def test_an_ipv4_mapped_ipv6_address_counts_as_its_ipv4_address(ask):
    use_free_queries(ask, ip="203.0.113.7")

    response = ask({"id_number": UNKNOWN, "name": NAME}, ip="::ffff:203.0.113.7")

    assert response.status_code == 428
