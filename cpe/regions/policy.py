"""The one engine that answers "which study rules apply to this region in this year"."""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal

from cpe.regions.models import Region, RegionPolicy


@dataclass(frozen=True)
class Policy:
    """The rules in force; the defaults are the national minimum and Hubei's practice."""

    annual_credits: int = 90
    professional_credits: int = 60
    credits_per_class_hour: int = 3
    minutes_per_class_hour: int = 45
    makeup_from: int | None = None
    sequential_years: bool = True
    plan_fee: Decimal = Decimal("0")
    heartbeat_seconds: int = 15
    max_playback_rate: Decimal = Decimal("1")
    attention_check_minutes: int = 15
    lesson_completion_percent: int = 95
    exam_single_count: int = 10
    exam_multiple_count: int = 5
    exam_true_false_count: int = 5
    exam_shuffle_options: bool = True
    exam_pass_mark: int = 60
    exam_time_limit_minutes: int = 30
    exam_attempts_per_year: int = 5
    exam_reset_on_exhaustion: bool = True
    exam_show_review: bool = True
    # The most credits a year takes from a source, as (source, credits) sorted by source.
    source_caps: tuple[tuple[str, int], ...] = ()
    # Which row gave these values (None: the defaults above).
    source_id: int | None = None

    @property
    def attention_checks_on(self) -> bool:
        return self.attention_check_minutes > 0

    @property
    def is_free(self) -> bool:
        return self.plan_fee <= 0

    def cap_for(self, source: str) -> int | None:
        """The most credits a year counts from `source` (None: no cap)."""
        return dict(self.source_caps).get(source)

    def credits_for(self, class_hours: Decimal | int) -> Decimal:
        return Decimal(class_hours) * self.credits_per_class_hour

    def seconds_for(self, class_hours: Decimal | int) -> int:
        """The least total length of lessons a course of this many class hours must have."""
        return int(Decimal(class_hours) * self.minutes_per_class_hour * 60)


_VALUE_FIELDS = [f.name for f in fields(Policy) if f.name not in ("source_id", "source_caps")]
# The values the yearly status depends on: changing them needs a recomputation.
STATUS_FIELDS = ("annual_credits", "professional_credits", "source_caps")


def _policy(row: RegionPolicy) -> Policy:
    caps = tuple(sorted((cap.source, cap.max_credits) for cap in row.caps.all()))
    return Policy(
        **{name: getattr(row, name) for name in _VALUE_FIELDS}, source_caps=caps, source_id=row.pk
    )


def _deciding(rows: list[RegionPolicy], codes: list[str], year: int) -> RegionPolicy | None:
    """Of rows sorted newest first, the latest not after `year` of the deepest region."""
    by_depth: dict[int, RegionPolicy] = {}
    for row in rows:
        if row.effective_from <= year:
            by_depth.setdefault(codes.index(row.region.code), row)
    return by_depth[max(by_depth)] if by_depth else None


def _rows(codes: list[str], *, until: int) -> list[RegionPolicy]:
    return list(
        RegionPolicy.objects.filter(region__code__in=codes, effective_from__lte=until)
        .select_related("region")
        .prefetch_related("caps")
        .order_by("-effective_from")
    )


def policy_for(region: Region | None, year: int) -> Policy:
    """The rules for `year` in `region`: the nearest region up the tree with a row decides."""
    if region is None:
        return Policy()
    codes = [code for code in region.path.split("/") if code]
    row = _deciding(_rows(codes, until=year), codes, year)
    return Policy() if row is None else _policy(row)


def policies_for(region: Region | None, years: list[int]) -> dict[int, Policy]:
    """policy_for(region, year) for each of `years`, read in one go (a page of many years)."""
    if region is None or not years:
        return {year: Policy() for year in years}
    codes = [code for code in region.path.split("/") if code]
    rows = _rows(codes, until=max(years))
    result: dict[int, Policy] = {}
    made: dict[int, Policy] = {}
    for year in years:
        row = _deciding(rows, codes, year)
        if row is None:
            result[year] = Policy()
        else:
            result[year] = made.setdefault(row.pk, _policy(row))
    return result
