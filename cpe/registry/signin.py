"""Learners' sign-in: first sign-in by ID number, name and an SMS code, passwords, forgotten
passwords, and what a person not collected yet is told. Web pages and the API share it.

Every answer that could tell a stranger whether an ID number is collected is one generic
answer; failures are throttled per address and per account with a temporary lockout.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cpe.accounts.models import User
from cpe.accounts.roles import Role
from cpe.accounts.services import user_create
from cpe.accounts.sms import SmsError, send_sms
from cpe.core.ratelimit import rate_limit_blocked, rate_limit_hit, rate_limit_reset
from cpe.core.services import Actor, audit_record
from cpe.regions.models import Bureau, Region
from cpe.registry.identity import IdNumber, normalise_id_number, normalise_mobile, normalise_name
from cpe.registry.models import Learner, SignInCode
from cpe.registry.services import id_number_hash

logger = logging.getLogger(__name__)

CODE_LIFETIME = timedelta(minutes=5)
CODE_MAX_ATTEMPTS = 5
# How long the session remembers whom a code was sent to (a code, resends included).
PENDING_LIFETIME = timedelta(minutes=15)
SESSION_PENDING = "cpe_signin_pending"
SYSTEM = "learner-sign-in"


def mask_mobile(mobile: str) -> str:
    """138****1234: enough for the person to recognise their phone, not enough to call it."""
    return f"{mobile[:3]}****{mobile[-4:]}" if len(mobile) == 11 else "*" * len(mobile)


# --- What a person is told ------------------------------------------------------------


@dataclass(frozen=True)
class Guidance:
    """Where a person who is not collected yet goes: their district, or all of a city's."""

    district: Region | None
    bureaus: list[Bureau]


def not_collected_guidance(id_number: IdNumber) -> Guidance:
    """The bureau of the district the ID number's region code names, when it is one of ours;
    else the districts of its city, if ours; else those of SIGNIN_GUIDANCE_REGION."""
    code = id_number.region_code
    district = Region.objects.filter(code=code, level=Region.Level.DISTRICT).first()
    bureaus = Bureau.objects.select_related("region").order_by("region__code")
    if district is not None:
        found = list(bureaus.filter(region=district))
        if found:
            return Guidance(district=district, bureaus=found)
    for parent_code in (f"{code[:4]}00", settings.SIGNIN_GUIDANCE_REGION):
        found = list(
            bureaus.filter(region__parent__code=parent_code, region__level=Region.Level.DISTRICT)
        )
        if found:
            return Guidance(district=None, bureaus=found)
    return Guidance(district=None, bureaus=[])


class SignInRefused(Exception):
    """One generic answer; `guidance` when the person may simply not be collected yet."""

    def __init__(self, message: str, *, code: str, guidance: Guidance | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.guidance = guidance


def _not_recognised(id_number: IdNumber | None, *, forgotten: bool = False) -> SignInRefused:
    # The same words for a wrong ID number, a wrong name, a person not collected, a
    # deregistered learner (and, for a forgotten password, one who never signed in).
    if forgotten:
        message = _(
            "We could not find an account for these details. Check the ID number (or mobile "
            "number) and the name as on your ID card. If you have never signed in, use First "
            "sign-in. If your district finance bureau has not collected your information yet, "
            "see below."
        )
    else:
        message = _(
            "We could not find a learner with this ID number and name. Check both as they are "
            "on your ID card. If your district finance bureau has not collected your "
            "information yet, see below."
        )
    guidance = not_collected_guidance(id_number) if id_number is not None else None
    if guidance is None:
        guidance = Guidance(district=None, bureaus=_default_bureaus())
    return SignInRefused(message, code="not_recognised", guidance=guidance)


def _default_bureaus() -> list[Bureau]:
    return list(
        Bureau.objects.select_related("region")
        .filter(
            region__parent__code=settings.SIGNIN_GUIDANCE_REGION,
            region__level=Region.Level.DISTRICT,
        )
        .order_by("region__code")
    )


def _too_many() -> SignInRefused:
    return SignInRefused(
        _("Too many attempts. Wait a few minutes and try again."), code="too_many_attempts"
    )


def _sign_in_failed() -> SignInRefused:
    return SignInRefused(
        _("The ID number or mobile number, or the password, is not correct."),
        code="sign_in_failed",
    )


# --- Throttling -----------------------------------------------------------------------


def _check_not_locked(ip: str, account: str, scope: str) -> None:
    rate = settings.LOGIN_RATE_LIMIT
    if rate_limit_blocked(scope=f"{scope}-ip", identity=ip, rate=rate) or rate_limit_blocked(
        scope=f"{scope}-account", identity=account, rate=rate
    ):
        raise _too_many()


def _count_failure(ip: str, account: str, scope: str, learner: Learner | None = None) -> None:
    rate = settings.LOGIN_RATE_LIMIT
    rate_limit_hit(scope=f"{scope}-ip", identity=ip, rate=rate)
    rate_limit_hit(scope=f"{scope}-account", identity=account, rate=rate)
    if rate_limit_blocked(scope=f"{scope}-account", identity=account, rate=rate):
        # This failure used up the allowance: the account is locked until the window ends.
        audit_record(
            actor=Actor(ip=ip, system=SYSTEM),
            action="learner.sign_in_locked",
            target=learner,
            region_path=learner.district.path if learner else "",
            reason=f"{scope}: {rate}",
        )


# --- Reading what people type ---------------------------------------------------------


@dataclass(frozen=True)
class Login:
    """An ID number or a mobile number, as typed into one field."""

    id_number: IdNumber | None = None
    mobile: str = ""

    @property
    def account(self) -> str:
        return id_number_hash(self.id_number.value) if self.id_number else f"m:{self.mobile}"


def parse_login(raw: str, field_name: str = "login") -> Login:
    value = "".join((raw or "").split())
    if (len(value) == 11 and value.isdigit()) or value.startswith("+86"):
        try:
            return Login(mobile=normalise_mobile(value))
        except ValidationError:
            pass
    else:
        try:
            return Login(id_number=normalise_id_number(value))
        except ValidationError as error:
            if len(value) in (15, 18):
                raise ValidationError({field_name: error.messages}) from None
    raise ValidationError(
        {field_name: _("Enter your 18-character ID number or your 11-digit mobile number.")}
    )


def _parse_id_and_name(id_number: str, name: str) -> tuple[IdNumber, str]:
    errors: dict[str, list[str]] = {}
    parsed_id = parsed_name = None
    try:
        parsed_id = normalise_id_number(id_number)
    except ValidationError as error:
        errors["id_number"] = error.error_list
    try:
        parsed_name = normalise_name(name)
    except ValidationError as error:
        errors["name"] = error.error_list
    if errors:
        raise ValidationError(errors)
    assert parsed_id is not None and parsed_name is not None
    return parsed_id, parsed_name


def _active(learners: Any) -> Any:
    return learners.select_related("district", "user").exclude(status=Learner.Status.DEREGISTERED)


def _has_account(learner: Learner) -> bool:
    return (
        learner.user is not None and learner.user.is_active and learner.user.has_usable_password()
    )


def plain_sign_in_allowed(region: Region) -> bool:
    """The region or one of its ancestors lets learners in with ID number and name alone."""
    codes = [code for code in region.path.split("/") if code]
    return Region.objects.filter(code__in=codes, plain_id_name_sign_in=True).exists()


# --- One-time codes -------------------------------------------------------------------


def _code_digest(nonce: str, code: str) -> str:
    return salted_hmac("cpe.registry.SignInCode", f"{nonce}:{code}", algorithm="sha256").hexdigest()


def _code_hash(code: str) -> str:
    nonce = secrets.token_hex(8)
    return f"{nonce}${_code_digest(nonce, code)}"


def _code_matches(row: SignInCode, code: str) -> bool:
    nonce, _sep, digest = row.code_hash.partition("$")
    return constant_time_compare(digest, _code_digest(nonce, "".join(code.split())))


@dataclass(frozen=True)
class CodeSent:
    learner_id: int
    purpose: str
    mobile_masked: str
    expires_in: int = int(CODE_LIFETIME.total_seconds())


def _throttle_codes(learner: Learner, ip: str) -> None:
    interval = f"1/{settings.SIGNIN_CODE_INTERVAL}"
    identity = str(learner.pk)
    checks = [
        ("sms-learner-interval", identity, interval),
        ("sms-learner", identity, settings.SIGNIN_CODE_RATE_LEARNER),
        ("sms-ip", ip, settings.SIGNIN_CODE_RATE_IP),
    ]
    for scope, who, rate in checks:
        if rate_limit_blocked(scope=scope, identity=who, rate=rate):
            raise SignInRefused(
                _("A code was sent a moment ago. Wait a minute before asking for another."),
                code="too_many_codes",
            )
    for scope, who, rate in checks:
        rate_limit_hit(scope=scope, identity=who, rate=rate)


def _code_send(*, learner: Learner, purpose: str, ip: str) -> CodeSent:
    """Supersede the learner's older codes, record a new one and text it to their mobile."""
    _throttle_codes(learner, ip)
    code = f"{secrets.randbelow(10**6):06d}"
    now = timezone.now()
    with transaction.atomic():
        SignInCode.objects.filter(
            learner=learner, purpose=purpose, used_at=None, superseded_at=None
        ).update(superseded_at=now)
        row = SignInCode.objects.create(
            learner=learner,
            purpose=purpose,
            code_hash=_code_hash(code),
            created_at=now,
            expires_at=now + CODE_LIFETIME,
        )
    minutes = int(CODE_LIFETIME.total_seconds() // 60)
    text = _(
        "Your sign-in code for continuing education is %(code)s, valid for %(minutes)s "
        "minutes. Never tell it to anyone, not even staff."
    ) % {"code": code, "minutes": minutes}
    try:
        # Sent now, in the request, not through the job queue: the person is waiting for it,
        # a retry minutes later is worth nothing to a 5-minute code, and the queue would
        # hold the code in plain text.
        send_sms(mobile=learner.mobile, text=text, params={"code": code})
    except SmsError as error:
        logger.warning("SMS to learner %s failed: %s", learner.pk, error)
        SignInCode.objects.filter(pk=row.pk).update(superseded_at=timezone.now())
        raise SignInRefused(
            _("The text message could not be sent just now. Try again in a few minutes."),
            code="sms_failed",
        ) from error
    audit_record(
        actor=Actor(ip=ip, system=SYSTEM),
        action="learner.sign_in_code_send",
        target=learner,
        reason=purpose,
    )
    return CodeSent(
        learner_id=learner.pk, purpose=purpose, mobile_masked=mask_mobile(learner.mobile)
    )


# --- First sign-in --------------------------------------------------------------------


@dataclass(frozen=True)
class FirstSignIn:
    """Either a code went to the learner's mobile, or (plain ID+name regions) they are in."""

    code_sent: CodeSent | None = None
    user: User | None = None


def learner_first_sign_in(*, ip: str, id_number: str, name: str) -> FirstSignIn:
    """ID number + name: send a code to the mobile recorded at collection.

    A malformed ID number or name is a field error (that reveals nothing). A wrong ID
    number, a wrong name, a person not collected and a deregistered learner all get one
    answer, which carries the "not collected yet" guidance.
    """
    parsed_id, parsed_name = _parse_id_and_name(id_number, name)
    account = id_number_hash(parsed_id.value)
    _check_not_locked(ip, account, "learner-identify")
    learner = _active(Learner.objects).filter(id_number_hash=account).first()
    if learner is None or learner.name != parsed_name:
        _count_failure(ip, account, "learner-identify", learner)
        raise _not_recognised(parsed_id)
    rate_limit_reset(scope="learner-identify-account", identity=account)
    if plain_sign_in_allowed(learner.district):
        return FirstSignIn(user=_plain_sign_in(learner, ip))
    if _has_account(learner):
        raise SignInRefused(
            _(
                "You have already chosen a password. Sign in with it, or use Forgotten "
                "password to get a code by text message."
            ),
            code="already_activated",
        )
    return FirstSignIn(code_sent=_code_send(learner=learner, purpose="activate", ip=ip))


@transaction.atomic
def _plain_sign_in(learner: Learner, ip: str) -> User:
    learner = (
        Learner.objects.select_for_update(of=("self",))
        .select_related("district", "user")
        .get(pk=learner.pk)
    )
    if learner.user is None:
        _account_create(learner, ip, reason=_("Signed in with ID number and name"))
    user = learner.user
    if not user.is_active:
        raise _not_recognised(None)
    audit_record(
        actor=Actor(user=user, ip=ip),
        action="learner.sign_in",
        target=learner,
        reason="id_number+name",
    )
    return user


def _account_create(learner: Learner, ip: str, reason: str) -> User:
    """The learner's own user account; its name says nothing about the ID number."""
    user = user_create(
        actor=Actor(ip=ip, system=SYSTEM),
        username=f"learner-{secrets.token_hex(6)}",
        password=None,
        role=Role.LEARNER,
        region=learner.district,
        display_name=learner.name,
    )
    learner.user = user
    learner.save(update_fields=["user", "updated_at"])
    audit_record(
        actor=Actor(user=user, ip=ip), action="learner.activate", target=learner, reason=reason
    )
    return user


# --- Forgotten password ---------------------------------------------------------------


def learner_password_forgotten(*, ip: str, login: str, name: str) -> CodeSent:
    """ID number or mobile + name: a code to the mobile of that learner's activated account."""
    errors: dict[str, list[str]] = {}
    parsed: Login | None = None
    parsed_name = ""
    try:
        parsed = parse_login(login)
    except ValidationError as error:
        errors.update(error.message_dict)
    try:
        parsed_name = normalise_name(name)
    except ValidationError as error:
        errors["name"] = error.messages
    if errors:
        raise ValidationError(errors)
    assert parsed is not None
    _check_not_locked(ip, parsed.account, "learner-identify")
    if parsed.id_number:
        candidates = _active(Learner.objects).filter(id_number_hash=parsed.account)
    else:
        candidates = _active(Learner.objects).filter(mobile=parsed.mobile)
    learner = next(
        (c for c in candidates.filter(name=parsed_name).order_by("pk") if _has_account(c)), None
    )
    if learner is None:
        _count_failure(ip, parsed.account, "learner-identify")
        raise _not_recognised(parsed.id_number, forgotten=True)
    rate_limit_reset(scope="learner-identify-account", identity=parsed.account)
    return _code_send(learner=learner, purpose="reset", ip=ip)


def learner_code_resend(*, ip: str, learner_id: int, purpose: str) -> CodeSent:
    learner = _active(Learner.objects).filter(pk=learner_id).first()
    if learner is None:
        raise _code_dead()
    return _code_send(learner=learner, purpose=purpose, ip=ip)


# --- Redeeming a code: choose a password ----------------------------------------------


def _code_dead() -> ValidationError:
    message = _("This code has expired or has been used up. Ask for a new code.")
    return ValidationError({"code": ValidationError(message, code="code_dead")})


def learner_code_redeem(
    *, ip: str, learner_id: int, purpose: str, code: str, password: str
) -> User:
    """Check the code (5 tries, 5 minutes, newest code only) and set the chosen password.

    Activation creates the learner's user account. A password reset ends every other
    session of the account (the session hash follows the password). A password the rules
    refuse leaves the code usable, so the person can choose another.
    """
    now = timezone.now()
    with transaction.atomic():
        row = (
            SignInCode.objects.select_for_update()
            .filter(learner_id=learner_id, purpose=purpose, used_at=None, superseded_at=None)
            .order_by("-created_at", "-id")
            .first()
        )
        learner = _active(Learner.objects).filter(pk=learner_id).first()
        if (
            row is None
            or learner is None
            or row.expires_at <= now
            or row.attempts >= CODE_MAX_ATTEMPTS
        ):
            error = _code_dead()
        elif not _code_matches(row, code):
            row.attempts += 1
            row.save(update_fields=["attempts"])
            left = CODE_MAX_ATTEMPTS - row.attempts
            message = _("This code is not correct. %(left)s tries left.") % {"left": left}
            wrong = ValidationError({"code": ValidationError(message, code="code_wrong")})
            error = wrong if left else _code_dead()
        else:
            user = _password_choose(learner, purpose, password, ip)
            row.used_at = now
            row.save(update_fields=["used_at"])
            return user
    raise error  # outside the transaction, so that the counted try is kept


def _password_choose(learner: Learner, purpose: str, password: str, ip: str) -> User:
    learner = (
        Learner.objects.select_for_update(of=("self",))
        .select_related("district", "user")
        .get(pk=learner.pk)
    )
    if purpose == SignInCode.Purpose.ACTIVATE and learner.user is None:
        user = _account_create(learner, ip, reason=_("Code sent by text message"))
    else:
        user = learner.user
        if user is None or not user.is_active:
            raise _code_dead()
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise ValidationError({"password": error.messages}) from None
    user.set_password(password)
    user.save(update_fields=["password"])
    action = (
        "learner.password_reset" if purpose == SignInCode.Purpose.RESET else "learner.password_set"
    )
    audit_record(actor=Actor(user=user, ip=ip), action=action, target=learner)
    return user


@transaction.atomic
def learner_password_set(*, actor: Actor, password: str) -> User:
    """A learner signed in by ID number and name (no code) chooses a password."""
    user = User.objects.select_for_update().get(pk=actor.user.pk)
    learner = _learner_of(user)
    if learner is None or user.has_usable_password():
        raise ValidationError(_("Change your password on the password page."))
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise ValidationError({"password": error.messages}) from None
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_record(actor=actor, action="learner.password_set", target=learner)
    return user


# --- Password sign-in -----------------------------------------------------------------


def learner_sign_in(*, ip: str, login: str, password: str) -> User:
    """ID number or mobile + password. Every failure gets the same answer; a mobile shared by
    several learners (a family) is tried against each activated account, never saying which."""
    parsed = parse_login(login, field_name="username")
    _check_not_locked(ip, parsed.account, "learner-sign-in")
    if parsed.id_number:
        candidates = _active(Learner.objects).filter(id_number_hash=parsed.account)
    else:
        candidates = _active(Learner.objects).filter(mobile=parsed.mobile)
    tried = 0
    for learner in candidates.filter(user__isnull=False).order_by("pk"):
        if not _has_account(learner):
            continue
        tried += 1
        if learner.user.check_password(password):
            rate_limit_reset(scope="learner-sign-in-account", identity=parsed.account)
            audit_record(
                actor=Actor(user=learner.user, ip=ip),
                action="learner.sign_in",
                target=learner,
                reason="password",
            )
            return learner.user
    if not tried:
        make_password(password)  # as slow as a real check, so timing tells nothing
    found = candidates.first() if parsed.id_number else None
    _count_failure(ip, parsed.account, "learner-sign-in", found)
    raise _sign_in_failed()


# --- The learner's own record ---------------------------------------------------------


def _learner_of(user: Any) -> Learner | None:
    try:
        return user.learner
    except (ObjectDoesNotExist, AttributeError):
        return None


@dataclass(frozen=True)
class Profile:
    learner: Learner
    mobile_masked: str
    bureau: Bureau | None
    has_password: bool


def learner_profile(user: User) -> Profile | None:
    learner = (
        Learner.objects.select_related("district", "district__bureau").filter(user=user).first()
    )
    if learner is None:
        return None
    return Profile(
        learner=learner,
        mobile_masked=mask_mobile(learner.mobile),
        bureau=getattr(learner.district, "bureau", None),
        has_password=user.has_usable_password(),
    )


# --- Passwords ------------------------------------------------------------------------


def _birth_date_forms(born: date) -> list[str]:
    return [
        born.strftime("%Y%m%d"),
        born.strftime("%Y-%m-%d"),
        born.strftime("%Y/%m/%d"),
        born.strftime("%Y.%m.%d"),
        born.strftime("%y%m%d"),
        born.strftime("%d%m%Y"),
        born.strftime("%m%d%Y"),
        f"{born.year}年{born.month}月{born.day}日",
    ]


class LearnerIdentityPasswordValidator:
    """Refuses a learner's password that contains their ID number, its last 6 or 8
    characters, or their birth date in a common form (19800101, 1980-01-01, 800101 ...)."""

    def validate(self, password: str, user: Any = None) -> None:
        learner = _learner_of(user)
        if learner is None:
            return
        value = password.lower()
        id_number = learner.reveal_id_number().lower()
        fragments = [
            id_number,
            id_number[-8:],
            id_number[-6:],
            *_birth_date_forms(learner.birth_date),
        ]
        if any(fragment in value for fragment in fragments):
            raise ValidationError(
                gettext_lazy(
                    "Your password must not contain your ID number, its last digits or your "
                    "birth date."
                ),
                code="password_identity",
            )

    def get_help_text(self) -> str:
        return str(
            gettext_lazy("Your password must not contain your ID number or your birth date.")
        )


# --- Session steps shared by the pages and the API ------------------------------------


def pending_remember(request: HttpRequest, sent: CodeSent) -> None:
    request.session[SESSION_PENDING] = {
        "learner": sent.learner_id,
        "purpose": sent.purpose,
        "mobile": sent.mobile_masked,
        "until": time.time() + PENDING_LIFETIME.total_seconds(),
    }


def pending_get(request: HttpRequest) -> dict[str, Any] | None:
    pending = request.session.get(SESSION_PENDING)
    if not pending or pending.get("until", 0) < time.time():
        return None
    return pending


def pending_forget(request: HttpRequest) -> None:
    request.session.pop(SESSION_PENDING, None)


# Codes live five minutes; a day is ample for anyone answering "why did I get a code?".
KEEP_SIGN_IN_CODES = timedelta(days=1)


def sign_in_codes_purge(*, now: datetime | None = None) -> int:
    """Delete sign-in codes older than a day (they are dead long before). Returns how many."""
    now = now or timezone.now()
    deleted, _ = SignInCode.objects.filter(created_at__lt=now - KEEP_SIGN_IN_CODES).delete()
    return deleted
