"""The public credit query for apps and other offices: the same service as the /query/ page.

Anonymous calls need no CSRF token: the call reads no session or cookie (a signed-in browser
is treated as anyone), changes nothing on anyone's behalf and answers only what the page
answers to anybody, so a cross-site request gains nothing a direct one would not. Offices
send `Authorization: Bearer <key>`: no proof-of-work, their own rate limit.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.security import HttpBearer

from cpe.api.errors import error_body
from cpe.core.services import client_ip
from cpe.public.models import OfficeApiKey
from cpe.public.pow import ALGORITHM, Challenge
from cpe.public.query import (
    Proof,
    QueryAnswer,
    QueryNoMatch,
    QueryProofNeeded,
    QueryTooMany,
    challenge_for,
    credit_query_run,
)
from cpe.public.selectors import office_key_for


@dataclass(frozen=True)
class Caller:
    """Who calls: an office by its key, anyone (no key), or a key that is not valid."""

    key: OfficeApiKey | None = None
    invalid: bool = False


class OfficeKey(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Caller:
        key = office_key_for(token)
        return Caller(key=key, invalid=key is None)


def anyone(request: HttpRequest) -> Caller:
    return Caller()


router = Router(tags=["public query"], auth=[OfficeKey(), anyone])


class ErrorOut(Schema):
    code: str
    message: str
    fields: dict[str, list[str]]


class ChallengeOut(Schema):
    token: str = Field(description="The signed challenge; send it back as pow_challenge")
    bits: int = Field(description="Leading zero bits that SHA-256(token + ':' + counter) needs")
    expires_in: int = Field(description="Seconds the challenge may be solved and sent in")
    algorithm: str = Field(description=f"Always {ALGORITHM}")


class ProofNeededOut(ErrorOut):
    challenge: ChallengeOut


class TooManyOut(ErrorOut):
    retry_after: int = Field(description="Seconds to wait; also the Retry-After header")


class ChallengeStateOut(Schema):
    required: bool = Field(description="Whether the next query from this address needs a proof")
    challenge: ChallengeOut | None


class QueryIn(Schema):
    id_number: str = Field(description="18 characters (a 15-digit legacy number is accepted)")
    name: str = Field(description="The name as on the ID card")
    year: int | None = Field(None, description="Only this year: for offices checking one year")
    pow_challenge: str = Field("", description="A challenge token, once a proof is required")
    pow_counter: str = Field("", description="The decimal counter that solves pow_challenge")


class YearOut(Schema):
    year: int
    status: str = Field(description="not_started, in_progress, complete or revoked")
    status_label: str
    complete: bool
    completed_on: datetime.date | None = Field(description="The day the year's rules were met")
    total_credits: Decimal
    professional_credits: Decimal
    public_credits: Decimal


class AnswerOut(Schema):
    name: str
    id_number_masked: str
    year: int | None = Field(description="The year asked for, if any")
    complete: bool | None = Field(description="With a year: whether that year is complete")
    years: list[YearOut] = Field(description="Newest first")


def _challenge(challenge: Challenge | None) -> dict | None:
    if challenge is None:
        return None
    return {
        "token": challenge.token,
        "bits": challenge.bits,
        "expires_in": challenge.expires_in,
        "algorithm": challenge.algorithm,
    }


def _answer(answer: QueryAnswer) -> dict:
    return {
        "name": answer.name,
        "id_number_masked": answer.id_number_masked,
        "year": answer.year,
        "complete": answer.complete,
        "years": [
            {
                "year": year.year,
                "status": year.status,
                "status_label": year.status_label,
                "complete": year.complete,
                "completed_on": year.completed_on,
                "total_credits": year.total_credits,
                "professional_credits": year.professional_credits,
                "public_credits": year.public_credits,
            }
            for year in answer.years
        ],
    }


def _invalid_key() -> Status:
    return Status(
        401,
        error_body("invalid_api_key", _("This API key is not valid or has been revoked.")),
    )


@router.post(
    "/credit-query",
    response={
        200: AnswerOut,
        401: ErrorOut,
        404: ErrorOut,
        422: ErrorOut,
        428: ProofNeededOut,
        429: TooManyOut,
    },
)
def credit_query(request: HttpRequest, payload: QueryIn, response: HttpResponse) -> object:
    """ID number + name (+ a year) → each year's status and credits, the ID number masked.

    An unknown person and a wrong name get the same 404 `no_match`. After a few queries from
    one address each query needs a proof-of-work: the 428 answer carries the `challenge` to
    solve (see the README); a wrong, spent, expired or other address's proof gets 428 with a
    new one. Over the limits: 429 with `Retry-After`. Offices send their key as
    `Authorization: Bearer …` and need no proof.
    """
    add_never_cache_headers(response)
    caller: Caller = request.auth  # type: ignore[attr-defined]
    if caller.invalid:
        return _invalid_key()
    try:
        answer = credit_query_run(
            ip=client_ip(request) or "unknown",
            id_number=payload.id_number,
            name=payload.name,
            year=payload.year,
            proof=Proof(challenge=payload.pow_challenge, counter=payload.pow_counter),
            office_key=caller.key,
        )
    except QueryNoMatch as refused:
        return Status(404, error_body(refused.code, refused.message))
    except QueryProofNeeded as refused:
        body = error_body(refused.code, refused.message)
        return Status(428, {**body, "challenge": _challenge(refused.challenge)})
    except QueryTooMany as refused:
        response["Retry-After"] = str(refused.retry_after)
        body = error_body(refused.code, refused.message)
        return Status(429, {**body, "retry_after": refused.retry_after})
    return _answer(answer)


@router.get("/credit-query/challenge", response={200: ChallengeStateOut, 401: ErrorOut})
def credit_query_challenge(request: HttpRequest, response: HttpResponse) -> object:
    """Whether the next query from this address needs a proof-of-work, and its challenge.

    An app may solve it before sending the query; the query's 428 answer gives one too.
    """
    add_never_cache_headers(response)
    caller: Caller = request.auth  # type: ignore[attr-defined]
    if caller.invalid:
        return _invalid_key()
    if caller.key is not None:
        return {"required": False, "challenge": None}
    challenge = challenge_for(client_ip(request) or "unknown")
    return {"required": challenge is not None, "challenge": _challenge(challenge)}
