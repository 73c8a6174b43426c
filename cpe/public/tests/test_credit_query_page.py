"""The public credit query page (/query/): the answer, the one "no match", the browser check
and the limits, as a person sees them."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from cpe.public.pow import proof_solve
from cpe.public.tests.conftest import NAME
from cpe.registry.testing import make_id_number

pytestmark = pytest.mark.django_db

UNKNOWN = make_id_number("420102", sequence=901)


def query(client: Client, ip: str = "203.0.113.5", **fields: str) -> Any:
    return client.post("/query/", fields, REMOTE_ADDR=ip)


def challenge_of(response: Any) -> tuple[str, int] | None:
    html = response.content.decode()
    token = re.search(r'data-pow-challenge="([^"]+)"', html)
    bits = re.search(r'data-pow-bits="(\d+)"', html)
    return (token.group(1), int(bits.group(1))) if token and bits else None


def test_the_home_page_and_the_menu_link_to_the_query():
    html = Client().get("/").content.decode()

    assert html.count('href="/query/"') >= 2


def test_a_person_sees_the_years_and_the_masked_id_number(person, id_number, this_year):
    response = query(Client(), id_number=id_number, name=NAME)

    assert response.status_code == 200
    html = response.content.decode()
    answer = html[html.index("data-query-answer") :]
    assert id_number[:6] + "********" + id_number[-4:] in answer
    assert id_number not in answer
    for year in (this_year, this_year - 1, this_year - 2):
        assert f'data-year="{year}"' in answer
    assert "已完成" in answer and "进行中" in answer and "未开始" in answer
    assert person.mobile not in html and person.employer_name not in html
    assert "no-store" in response["Cache-Control"]


def test_the_page_is_complete_in_english(person, id_number, this_year):
    client = Client()
    client.cookies["django_language"] = "en"

    html = query(client, id_number=id_number, name=NAME).content.decode()

    assert "Public credit query" in html
    assert "Complete" in html and "In progress" in html and "Not started" in html
    assert "Professional credits" in html


def test_an_unknown_person_and_a_wrong_name_read_the_same(person, id_number):
    unknown = query(Client(), id_number=UNKNOWN, name=NAME)
    wrong_name = query(Client(), id_number=id_number, name="张晓")

    assert unknown.status_code == wrong_name.status_code == 200

    def without_input(response: Any, typed: str, name: str) -> str:
        # What differs on every page: the CSRF token, and the input typed in, echoed back.
        html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())
        return html.replace(typed, "ID").replace(name, "NAME")

    assert without_input(unknown, UNKNOWN, NAME) == without_input(wrong_name, id_number, "张晓")
    assert 'data-query-refused="no_match"' in unknown.content.decode()


def test_a_mistyped_id_number_is_told_in_plain_words(person, id_number):
    wrong_check = id_number[:17] + ("0" if id_number[17] != "0" else "1")

    html = query(Client(), id_number=wrong_check, name=NAME).content.decode()

    assert "身份证号码有误：最后一位校验码不符，请核对。" in html
    assert "data-query-answer" not in html


def test_after_a_few_queries_the_page_asks_for_the_browser_check(person, id_number):
    client = Client()
    first = client.get("/query/", REMOTE_ADDR="203.0.113.5")
    for sequence in range(3):
        query(client, id_number=make_id_number(sequence=300 + sequence), name=NAME)

    page = client.get("/query/", REMOTE_ADDR="203.0.113.5")
    without_proof = query(client, id_number=id_number, name=NAME)

    assert challenge_of(first) is None and "<noscript>" not in first.content.decode()
    assert challenge_of(page) is not None
    html = page.content.decode()
    noscript = html[html.index("<noscript>") : html.index("</noscript>")]
    assert "JavaScript" in noscript
    assert "public/pow-worker.js" in html
    assert 'data-query-refused="proof_of_work_required"' in without_proof.content.decode()
    assert "data-pow-autostart" in without_proof.content.decode()
    assert "data-query-answer" not in without_proof.content.decode()


def test_the_page_accepts_a_solved_check(person, id_number):
    client = Client()
    for sequence in range(3):
        query(client, id_number=make_id_number(sequence=300 + sequence), name=NAME)
    token, bits = challenge_of(client.get("/query/", REMOTE_ADDR="203.0.113.5"))

    response = query(
        client,
        id_number=id_number,
        name=NAME,
        pow_challenge=token,
        pow_counter=proof_solve(token, bits),
    )

    assert "data-query-answer" in response.content.decode()
    assert challenge_of(response)[1] == bits + 1  # the next query's check is harder


def test_over_the_limit_the_page_answers_429_and_says_when(settings):
    settings.PUBLIC_QUERY_FREE = "100/600"
    client = Client()
    for sequence in range(8):
        query(client, id_number=make_id_number(sequence=200 + sequence), name=NAME)

    response = query(client, id_number=UNKNOWN, name=NAME)

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert 'data-query-refused="too_many_queries"' in response.content.decode()
    assert re.search(r"\d\d:\d\d", response.content.decode())
