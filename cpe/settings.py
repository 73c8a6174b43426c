"""Settings for CPE, read from the environment; see .env.example for every variable."""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from cpe.core.env import env_bool, env_int, env_list, env_secret, env_str, load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("CPE_VAR_DIR", str(BASE_DIR / "var")))
load_dotenv(BASE_DIR / ".env")

DEBUG = env_bool("DEBUG", False)
_SECRETS_FILE = VAR_DIR / "secrets.json"
SECRET_KEY = env_secret("SECRET_KEY", debug=DEBUG, store=_SECRETS_FILE)
# "id:base64key" pairs, newest first; the first encrypts, all decrypt (for rotation).
FIELD_ENCRYPTION_KEYS = env_secret("FIELD_ENCRYPTION_KEYS", debug=DEBUG, store=_SECRETS_FILE)
LOOKUP_HASH_KEY = env_secret("LOOKUP_HASH_KEY", debug=DEBUG, store=_SECRETS_FILE)
SIGNING_KEY = env_secret("SIGNING_KEY", debug=DEBUG, store=_SECRETS_FILE)
# "id:base64key" pairs, newest first: the first seals new credit ledger entries and each
# learner's chain head with HMAC-SHA256, all verify (rotation; cpe/credits/chain.py).
LEDGER_KEYS = env_secret("LEDGER_KEYS", debug=DEBUG, store=_SECRETS_FILE)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    # The Django admin, with its sign-in sent through the staff sign-in and its second factor.
    "cpe.accounts.admin_site.StaffAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "huey.contrib.djhuey",
    "ninja",
    "cpe.core",
    "cpe.regions",
    "cpe.accounts",
    "cpe.registry",
    "cpe.catalog",
    "cpe.learning",
    "cpe.exams",
    "cpe.credits",
    "cpe.certificates",
    "cpe.public",
    "cpe.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "cpe.core.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "cpe.accounts.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "cpe.urls"
WSGI_APPLICATION = "cpe.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cpe.core.context_processors.platform",
            ],
        },
    }
]

# --- Database: SQLite under var/ by default, PostgreSQL through DATABASE_URL.
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
        )
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "cpe.sqlite3",
            "OPTIONS": {
                # The web server and the job worker share the file: WAL lets them read
                # while the other writes, and IMMEDIATE avoids lock upgrades mid-transaction.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, sessions and rate limits: Redis when REDIS_URL is set, else in-process.
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "cpe"),
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cache"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)

# --- Heartbeats: kept in Redis while a lesson plays and written to the database in batches
# every HEARTBEAT_FLUSH_SECONDS (cpe/learning/heartbeat_buffer.py says what a crash can lose).
HEARTBEAT_BUFFER = env_bool("HEARTBEAT_BUFFER", bool(REDIS_URL))
HEARTBEAT_FLUSH_SECONDS = env_int("HEARTBEAT_FLUSH_SECONDS", 2)
HEARTBEAT_BUFFER_PREFIX = env_str("HEARTBEAT_BUFFER_PREFIX", "cpe:hb:")
# Where the flusher runs: "web", a thread in every process that takes heartbeats (runserver,
# a lone gunicorn), or "dedicated", only in a process started for it (gunicorn.conf.py sets
# this and runs it in gunicorn's dirty worker, cpe/learning/flusher.py).
HEARTBEAT_FLUSHER = env_str("HEARTBEAT_FLUSHER", "web")
if HEARTBEAT_FLUSHER not in ("web", "dedicated"):
    raise ImproperlyConfigured(
        f"HEARTBEAT_FLUSHER must be web or dedicated, not {HEARTBEAT_FLUSHER!r}."
    )

# --- Background jobs (huey): SQLite file locally, Redis in production.
HUEY = {
    "name": "cpe",
    "immediate": env_bool("HUEY_IMMEDIATE", False),
    "results": False,
    "utc": True,
    "consumer": {"workers": env_int("HUEY_WORKERS", 2), "worker_type": "thread"},
}
if REDIS_URL:
    HUEY["huey_class"] = "huey.RedisHuey"
    HUEY["connection"] = {"url": REDIS_URL}
else:
    HUEY["huey_class"] = "huey.SqliteHuey"
    HUEY["filename"] = str(VAR_DIR / "jobs.sqlite3")

# --- Accounts.
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "registry:signin"
LOGIN_REDIRECT_URL = "public:home"
PASSWORD_HASHERS = [
    "cpe.accounts.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # A learner's password may not contain their ID number or birth date.
    {"NAME": "cpe.registry.signin.LearnerIdentityPasswordValidator"},
]
LOGIN_RATE_LIMIT = env_str("LOGIN_RATE_LIMIT", "10/300")  # attempts/seconds, per IP and per account
# Staff roles that must sign in with a second factor (TOTP); other staff may set one up.
TOTP_REQUIRED_ROLES = env_list(
    "TOTP_REQUIRED_ROLES", ["district_officer", "city_admin", "province_admin", "superuser"]
)
TOTP_RATE_LIMIT = env_str("TOTP_RATE_LIMIT", "5/300")  # wrong codes, per IP and per account
# How long the password step stays valid while the person finds their code.
TOTP_PENDING_SECONDS = env_int("TOTP_PENDING_SECONDS", 300)

# Learners' one-time codes by SMS: at most one per SIGNIN_CODE_INTERVAL seconds and
# SIGNIN_CODE_RATE_LEARNER per learner, SIGNIN_CODE_RATE_IP per address (count/seconds).
SIGNIN_CODE_INTERVAL = env_int("SIGNIN_CODE_INTERVAL", 60)
SIGNIN_CODE_RATE_LEARNER = env_str("SIGNIN_CODE_RATE_LEARNER", "5/3600")
SIGNIN_CODE_RATE_IP = env_str("SIGNIN_CODE_RATE_IP", "20/3600")
# Whose districts a person not yet collected is sent to when their ID number's region code
# is none of ours (and its city neither).
SIGNIN_GUIDANCE_REGION = env_str("SIGNIN_GUIDANCE_REGION", "420100")
# How many reverse proxies stand in front of the app (0: use REMOTE_ADDR as it is).
NUM_PROXIES = env_int("NUM_PROXIES", 0)

# --- The public credit query (cpe/public/query.py). Rates are count/seconds: per address and
# per queried ID number (the hard limits, then 429); PUBLIC_QUERY_FREE queries per address need
# no proof-of-work, each one after them does, of PUBLIC_QUERY_POW_BITS leading zero bits plus
# one per further query, at most PUBLIC_QUERY_POW_MAX_BITS. Offices with a key: their own rate.
PUBLIC_QUERY_RATE_IP = env_str("PUBLIC_QUERY_RATE_IP", "30/3600")
PUBLIC_QUERY_RATE_ID = env_str("PUBLIC_QUERY_RATE_ID", "10/3600")
PUBLIC_QUERY_FREE = env_str("PUBLIC_QUERY_FREE", "3/600")
PUBLIC_QUERY_POW_BITS = env_int("PUBLIC_QUERY_POW_BITS", 16)
PUBLIC_QUERY_POW_MAX_BITS = env_int("PUBLIC_QUERY_POW_MAX_BITS", 20)
PUBLIC_QUERY_POW_SECONDS = env_int("PUBLIC_QUERY_POW_SECONDS", 300)
PUBLIC_QUERY_RATE_OFFICE = env_str("PUBLIC_QUERY_RATE_OFFICE", "6000/3600")

# --- Text messages (sign-in codes): a backend like Django's email backends.
SMS_BACKEND = env_str("SMS_BACKEND", "cpe.accounts.sms.ConsoleBackend")
SMS_FILE_PATH = env_str("SMS_FILE_PATH", str(VAR_DIR / "sms"))
SMS_TIMEOUT = env_int("SMS_TIMEOUT", 5)
SMS_ALIYUN_ACCESS_KEY_ID = env_str("SMS_ALIYUN_ACCESS_KEY_ID")
SMS_ALIYUN_ACCESS_KEY_SECRET = env_str("SMS_ALIYUN_ACCESS_KEY_SECRET")
SMS_ALIYUN_SIGN_NAME = env_str("SMS_ALIYUN_SIGN_NAME")
SMS_ALIYUN_TEMPLATE_CODE = env_str("SMS_ALIYUN_TEMPLATE_CODE")
SMS_ALIYUN_ENDPOINT = env_str("SMS_ALIYUN_ENDPOINT", "https://dysmsapi.aliyuncs.com/")
SMS_ALIYUN_REGION = env_str("SMS_ALIYUN_REGION", "cn-hangzhou")

# --- Year plans in regions that charge a fee: a backend that starts the payment.
PLAN_PAYMENT_BACKEND = env_str("PLAN_PAYMENT_BACKEND", "cpe.learning.payments.UnavailableBackend")

# --- Languages: Simplified Chinese first, English complete.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "cpe" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files.
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
WHITENOISE_USE_FINDERS = DEBUG
PRIVATE_MEDIA_ROOT = Path(env_str("PRIVATE_MEDIA_ROOT", str(VAR_DIR / "private")))
COURSE_MEDIA_ROOT = Path(env_str("COURSE_MEDIA_ROOT", str(VAR_DIR / "course-media")))
# Development serves lesson files itself (with HTTP Range); with this off the app redirects
# to the storage's URL instead (signed and expiring on S3), never streaming large files.
COURSE_MEDIA_STREAM = env_bool("COURSE_MEDIA_STREAM", DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Personal documents (evidence files): never under MEDIA_URL, only through views that
    # check scope. In production point this at a private S3 bucket (django-storages).
    "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": PRIVATE_MEDIA_ROOT, "base_url": None},
    },
    # Lesson videos and reading files: served only to learners who study the course. In
    # development the app serves them (with HTTP Range); in production point this at object
    # storage with signed, expiring URLs (django-storages S3 backend; see the README).
    "course_media": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": COURSE_MEDIA_ROOT, "base_url": None},
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Security: secure cookies and HSTS whenever DEBUG is off.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the API client reads it to send X-CSRFToken
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- The platform's own identity, shown in pages and later on certificates.
PLATFORM_NAME = env_str("PLATFORM_NAME", "")

# --- Certificates: the CJK font they embed (Debian's fonts-noto-cjk; index 2 of the
# collection is Simplified Chinese), where its smaller common-character copy is kept, the
# public keys of earlier signing keys (key rotation), and the verification rate per address.
CERTIFICATE_FONT_PATH = env_str(
    "CERTIFICATE_FONT_PATH", "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
)
CERTIFICATE_FONT_INDEX = env_int("CERTIFICATE_FONT_INDEX", 2)
CERTIFICATE_FONT_CACHE = env_str("CERTIFICATE_FONT_CACHE", str(VAR_DIR / "fonts"))
CERTIFICATE_VERIFY_KEYS = env_list("CERTIFICATE_VERIFY_KEYS")
CERTIFICATE_VERIFY_RATE = env_str("CERTIFICATE_VERIFY_RATE", "60/300")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "huey": {"level": "INFO"},
        # fontTools reports every font subset (each certificate PDF) at INFO.
        "fontTools": {"level": "WARNING"},
    },
}
