"""The public credit query (公众网查询): ID number + name → each year's status and credits.

The page and the API call `credit_query_run`. It refuses malformed input with field errors,
then applies the limits per client address and per queried ID number (its keyed hash), asks
for a proof-of-work after a few queries from one address, and answers. "No such person" and
"the name does not match" are one answer (`QueryNoMatch`), reached by the same queries.
An office with an API key skips the proof-of-work and the address and ID limits; it has its
own limit, and each of its queries is counted on the key.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _

from cpe.core.ratelimit import (
    address_network,
    parse_rate,
    rate_limit_blocked,
    rate_limit_count,
    rate_limit_hit,
    rate_limit_increment,
    rate_limit_refund,
    rate_limit_retry_after,
)
from cpe.credits.models import YearStatus
from cpe.learning.years import required_years
from cpe.public.models import OfficeApiKey
from cpe.public.pow import Challenge, ProofRefused, challenge_issue, proof_verify
from cpe.regions.models import Region
from cpe.regions.policy import policy_for
from cpe.registry.crypto import mask_id_number
from cpe.registry.identity import normalise_id_number, normalise_name
from cpe.registry.models import Learner
from cpe.registry.services import id_number_hash

SCOPE_IP = "public-query-ip"
SCOPE_ID = "public-query-id"
SCOPE_FREE = "public-query-free"
SCOPE_OFFICE = "public-query-office"
FIRST_YEAR = 2000
# Looked up when nobody matched, so that both kinds of "no match" run the same queries.
_NOBODY = Region(code="000000", path="000000/")


@dataclass(frozen=True)
class PublicYear:
    year: int
    status: str
    completed_on: datetime.date | None
    total_credits: Decimal
    professional_credits: Decimal
    public_credits: Decimal

    @property
    def status_label(self) -> str:
        return str(YearStatus.Status(self.status).label)

    @property
    def complete(self) -> bool:
        return self.status == YearStatus.Status.COMPLETE


@dataclass(frozen=True)
class QueryAnswer:
    name: str
    id_number_masked: str
    years: list[PublicYear]
    year: int | None = None

    @property
    def complete(self) -> bool | None:
        """For a query of one year: whether that year is complete."""
        if self.year is None:
            return None
        return any(y.complete for y in self.years if y.year == self.year)


class QueryRefused(Exception):
    """Base of the refusals; `message` is for the person, `code` for programs."""

    code = "refused"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class QueryNoMatch(QueryRefused):
    code = "no_match"

    def __init__(self) -> None:
        super().__init__(
            _(
                "No record matches this ID number and name. Check both as they are on the ID "
                "card. A person whose information a district finance bureau has not collected "
                "has no record here."
            )
        )


class QueryTooMany(QueryRefused):
    code = "too_many_queries"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class QueryProofNeeded(QueryRefused):
    """A proof-of-work must come with the query; `challenge` is the one to solve."""

    def __init__(self, *, challenge: Challenge, reason: str) -> None:
        self.reason = reason
        if reason == "missing":
            self.code = "proof_of_work_required"
            message = _(
                "Several queries came from your address, so your browser must first do a short "
                "check. It runs by itself and takes a few seconds."
            )
        else:
            self.code = "proof_of_work_invalid"
            message = _(
                "The browser check did not pass or has expired. A new check runs by itself."
            )
        super().__init__(message)
        self.challenge = challenge


@dataclass(frozen=True)
class Proof:
    challenge: str = ""
    counter: str = ""


def _too_many(scope: str, identity: str, rate: str) -> QueryTooMany:
    """The refusal of a query over a limit, saying when the limit's window ends."""
    retry_after = rate_limit_retry_after(scope=scope, identity=identity, rate=rate)
    if scope == SCOPE_OFFICE:
        message = _("This key has made too many queries. Try again in %(seconds)s seconds.") % {
            "seconds": retry_after
        }
        return QueryTooMany(message, retry_after=retry_after)
    when = timezone.localtime(timezone.now() + datetime.timedelta(seconds=retry_after))
    minutes = max(1, (retry_after + 59) // 60)
    values = {"time": when.strftime("%H:%M"), "minutes": minutes}
    if scope == SCOPE_ID:
        message = _(
            "This ID number has been queried too often. Try again after %(time)s (in about "
            "%(minutes)s minutes)."
        )
    else:
        message = _(
            "Too many queries from your address. Try again after %(time)s (in about "
            "%(minutes)s minutes)."
        )
    return QueryTooMany(message % values, retry_after=retry_after)


def _count(limits: list[tuple[str, str, str]]) -> None:
    """Count the query against each limit. The earlier checks only spare work: these counts
    decide, as the cache increments them atomically, so queries arriving together cannot
    all take the last place."""
    over = [
        limit
        for limit in limits
        if rate_limit_hit(scope=limit[0], identity=limit[1], rate=limit[2])
    ]
    if over:
        raise _too_many(*over[0])


def _check(limits: list[tuple[str, str, str]]) -> None:
    for scope, identity, rate in limits:
        if rate_limit_blocked(scope=scope, identity=identity, rate=rate):
            raise _too_many(scope, identity, rate)


def _parse(id_number: str, name: str, year: int | str | None) -> tuple[str, str, int | None]:
    errors: dict[str, list] = {}
    parsed_id = parsed_name = ""
    parsed_year: int | None = None
    try:
        parsed_id = normalise_id_number(id_number).value
    except ValidationError as error:
        errors["id_number"] = error.error_list
    try:
        parsed_name = normalise_name(name)
    except ValidationError as error:
        errors["name"] = error.error_list
    if year not in (None, ""):
        current = timezone.localdate().year
        try:
            parsed_year = int(str(year).strip())
        except ValueError:
            parsed_year = 0
        if not FIRST_YEAR <= parsed_year <= current:
            errors["year"] = [
                ValidationError(
                    _("Choose a year from %(first)s to %(last)s.")
                    % {"first": FIRST_YEAR, "last": current}
                )
            ]
    if errors:
        raise ValidationError(errors)
    return parsed_id, parsed_name, parsed_year


def _bits_after(used: int) -> int:
    """The difficulty of the query that follows `used` queries in the window (0: free)."""
    free, _window = parse_rate(settings.PUBLIC_QUERY_FREE)
    if used < free:
        return 0
    bits = settings.PUBLIC_QUERY_POW_BITS + used - free
    return min(bits, settings.PUBLIC_QUERY_POW_MAX_BITS)


def proof_bits_required(ip: str) -> int:
    """0 while the address has free queries left; else the difficulty of its next proof."""
    return _bits_after(rate_limit_count(scope=SCOPE_FREE, identity=address_network(ip)))


def challenge_for(ip: str) -> Challenge | None:
    """The challenge the address's next query must solve, or None when it needs none."""
    bits = proof_bits_required(ip)
    return challenge_issue(ip=ip, bits=bits) if bits else None


def _throttle_anonymous(ip: str, id_hash: str, proof: Proof) -> None:
    ip = address_network(ip)  # an IPv6 /64 counts as one address
    limits = [
        (SCOPE_IP, ip, settings.PUBLIC_QUERY_RATE_IP),
        (SCOPE_ID, id_hash, settings.PUBLIC_QUERY_RATE_ID),
    ]
    _check(limits)
    # Counted before it is decided, as the hard limits are: queries arriving together each
    # get their own place, so no more than the free ones skip the proof. A query refused for
    # its proof gives its place back, so the challenge it gets is the one the next needs.
    used = rate_limit_increment(scope=SCOPE_FREE, identity=ip, rate=settings.PUBLIC_QUERY_FREE)
    bits = _bits_after(used - 1)
    if bits:
        try:
            proof_verify(ip=ip, token=proof.challenge, counter=proof.counter, min_bits=bits)
        except ProofRefused as refused:
            rate_limit_refund(scope=SCOPE_FREE, identity=ip)
            raise QueryProofNeeded(
                challenge=challenge_issue(ip=ip, bits=bits), reason=refused.reason
            ) from None
    _count(limits)


def _throttle_office(key: OfficeApiKey) -> None:
    limits = [(SCOPE_OFFICE, str(key.pk), settings.PUBLIC_QUERY_RATE_OFFICE)]
    _check(limits)
    _count(limits)
    OfficeApiKey.objects.filter(pk=key.pk).update(
        query_count=F("query_count") + 1, last_used_at=timezone.now()
    )


def _years(learner: Learner | None, year: int | None) -> list[PublicYear]:
    """The years the public sees. Without a match the same two queries run for nobody.

    A deregistered person's years are those the ledger holds: they are no longer required to
    study, so later years would read as "not started" for no reason; their deregistration
    itself is not shown.
    """
    statuses = YearStatus.objects.filter(learner_id=learner.pk if learner else 0)
    if year is not None:
        statuses = statuses.filter(year=year)
    stored = {status.year: status for status in statuses}
    if learner is None:
        policy_for(_NOBODY, timezone.localdate().year)  # the read required_years makes
        return []
    required = required_years(learner)
    if learner.status == Learner.Status.DEREGISTERED:
        years = set(stored)
    else:
        years = set(required) | set(stored)
    if year is not None:
        years = {year}
    result = []
    for each in sorted(years, reverse=True):
        status = stored.get(each)
        if status is None:
            result.append(PublicYear(each, YearStatus.Status.NOT_STARTED, None, *[Decimal(0)] * 3))
            continue
        met = status.met_at if status.status == YearStatus.Status.COMPLETE else None
        result.append(
            PublicYear(
                year=each,
                status=status.status,
                completed_on=timezone.localdate(met) if met else None,
                total_credits=status.total_credits,
                professional_credits=status.professional_credits,
                public_credits=status.public_credits,
            )
        )
    return result


def credit_query_run(
    *,
    ip: str,
    id_number: str,
    name: str,
    year: int | str | None = None,
    proof: Proof | None = None,
    office_key: OfficeApiKey | None = None,
) -> QueryAnswer:
    """Answer one query, or raise ValidationError (field errors), QueryTooMany,
    QueryProofNeeded or QueryNoMatch."""
    parsed_id, parsed_name, parsed_year = _parse(id_number, name, year)
    id_hash = id_number_hash(parsed_id)
    if office_key is not None:
        _throttle_office(office_key)
    else:
        _throttle_anonymous(ip, id_hash, proof or Proof())
    # Only the name is read before it is compared, so a wrong name costs what nobody costs.
    people = Learner.objects.filter(id_number_hash=id_hash)
    if office_key is not None:
        # A key answers for the province that issued it: elsewhere is "no match", by the same
        # one query.
        people = people.filter(district__path__startswith=office_key.region.path)
    found = people.values_list("pk", "name").first()
    name_matches = found is not None and constant_time_compare(found[1], parsed_name)
    learner = None
    if name_matches:
        learner = Learner.objects.select_related("district").get(pk=found[0])  # type: ignore[index]
    years = _years(learner, parsed_year)
    if learner is None:
        raise QueryNoMatch()
    return QueryAnswer(
        name=learner.name,
        id_number_masked=mask_id_number(parsed_id),
        years=years,
        year=parsed_year,
    )
