"""Settings, read from the environment (and `.env` when present) by django-environ.

Every value that can go wrong is checked here, so a bad environment stops start-up
with ImproperlyConfigured naming the variable instead of failing on first use.
"""

import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import environ
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _read(name, cast, default):
    """Read one variable; a value that does not parse names the variable."""
    try:
        return cast(name, default=default)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from exc


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _bool(name, default):
    """A strict boolean: 'maybe' is an error, not a silent False."""
    raw = env.str(name, default=None)
    if raw is None:
        return default
    if raw.strip().lower() in _TRUE:
        return True
    if raw.strip().lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}: {raw!r} is not a boolean (use true or false)")


DEBUG = _bool("DEBUG", False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY: required when DEBUG is off (the README's run command writes one "
            "into .env; or export SECRET_KEY)"
        )
    # Debugging without one: a random key per process (sessions end on restart), never
    # a fixed key that anyone reading this file could sign with.
    SECRET_KEY = get_random_secret_key()

ALLOWED_HOSTS = _read("ALLOWED_HOSTS", env.list, ["127.0.0.1", "localhost", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "config",
    "search",
    "insights",
    "operations",
]

MIDDLEWARE = [
    "config.middleware.SecurityHeadersMiddleware",  # CSP & co. on every response
    "django.middleware.security.SecurityMiddleware",
    "operations.middleware.RequestMetricsMiddleware",  # Operations: times the whole request
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "insights.middleware.InsightsTrackingMiddleware",  # Insights: records page views
    "config.middleware.RedisOutageMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires: answers lockouts
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

try:
    DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
except (ValueError, KeyError, ImproperlyConfigured) as exc:
    raise ImproperlyConfigured(f"DATABASE_URL: {exc}") from exc
if "." not in DATABASES["default"]["ENGINE"]:  # django-environ passes unknown schemes through
    raise ImproperlyConfigured(
        f"DATABASE_URL: unknown database scheme {DATABASES['default']['ENGINE']!r}"
    )

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Where collectstatic writes (WhiteNoise serves from it); the browser tests point it away
# from var/.
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# --- Login throttling (django-axes) ------------------------------------------------
# Failed logins are counted per username and per client address in the cache store;
# once either reaches the limit, every login for it is refused (HTTP 429), even with the
# right password, until the lockout time after the failure that reached it. On the login
# page and the admin's, which both authenticate through these backends.
LOGIN_FAILURE_LIMIT = _read("LOGIN_FAILURE_LIMIT", env.int, 5)
if not 1 <= LOGIN_FAILURE_LIMIT <= 100:
    raise ImproperlyConfigured("LOGIN_FAILURE_LIMIT: failed logins before a lockout, 1 to 100")
LOGIN_LOCKOUT_MINUTES = _read("LOGIN_LOCKOUT_MINUTES", env.int, 15)
if not 1 <= LOGIN_LOCKOUT_MINUTES <= 1440:
    raise ImproperlyConfigured("LOGIN_LOCKOUT_MINUTES: minutes a lockout lasts, 1 to 1440")
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out login
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_CACHE = "default"
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # two counters, either locks
AXES_USERNAME_CALLABLE = "config.login_throttle.counted_username"  # never an address's key
# The same client address as the page-view tracking (INSIGHTS_CLIENT_IP_HEADER below).
AXES_CLIENT_IP_CALLABLE = "config.client_ip.client_ip"
AXES_LOCKOUT_CALLABLE = "config.login_throttle.lockout_response"
# Tries during a lockout neither count nor extend it: it ends when the page says it will.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_ENABLE_ADMIN = False  # its admin pages list database records; the cache handler keeps none

# --- Redis ------------------------------------------------------------------
# One logical store per concern (docs/CONFIGURATION.md); each has its own URL so it can
# move to its own server. By default all live on one server, one DB number each.
REDIS_HOST = env.str("REDIS_HOST", default="127.0.0.1")
REDIS_PORT = _read("REDIS_PORT", env.int, 6379)
if not 0 < REDIS_PORT < 65536:
    raise ImproperlyConfigured(f"REDIS_PORT: {REDIS_PORT} is not a TCP port (1-65535)")
REDIS_PASSWORD = env.str("REDIS_PASSWORD", default="")
REDIS_DB = _read("REDIS_DB", env.int, 0)
if REDIS_DB != 0:
    raise ImproperlyConfigured(
        f"REDIS_DB: {REDIS_DB} is not supported; the search store must be DB 0 because "
        "RediSearch indexes only DB 0 (move a store with its REDIS_<STORE>_URL instead)"
    )
REDIS_TLS = _bool("REDIS_TLS", False)
# The CA that signed the servers' certificates when it is not a public one (a private or
# self-signed CA): a PEM file, passed to every rediss:// store, the cache included.
REDIS_TLS_CA_CERT = env.str("REDIS_TLS_CA_CERT", default="")
if REDIS_TLS_CA_CERT and not Path(REDIS_TLS_CA_CERT).is_file():
    raise ImproperlyConfigured(f"REDIS_TLS_CA_CERT: {REDIS_TLS_CA_CERT!r} is not a file")

REDIS_STORE_DBS = {
    "search": 0,
    "analytics": 1,
    "operations": 2,
    "cache": 3,
    "metrics": 4,
    "events": 5,
}


def _default_store_url(db, address=f"{REDIS_HOST}:{REDIS_PORT}"):
    scheme = "rediss" if REDIS_TLS else "redis"
    auth = f":{quote(REDIS_PASSWORD, safe='')}@" if REDIS_PASSWORD else ""
    return f"{scheme}://{auth}{address}/{db}"


def _with_ca(url):
    if REDIS_TLS_CA_CERT and url.startswith("rediss://") and "ssl_ca_certs=" not in url:
        # redis-py (and so django-redis) reads unknown URL query arguments as options.
        url += ("&" if "?" in url else "?") + "ssl_ca_certs=" + quote(REDIS_TLS_CA_CERT, safe="")
    return url


REDIS_URLS = {}
for _store, _db in REDIS_STORE_DBS.items():
    _name = f"REDIS_{_store.upper()}_URL"
    _url = env.str(_name, default="") or _default_store_url(_db)
    if not _url.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(f"{_name}: must start with redis://, rediss:// or unix://")
    REDIS_URLS[_store] = _with_ca(_url)

# The embedded Redis Stack (config/embedded_redis.py) is started by the run and test
# commands only when every store points at this machine's default server.
_local = REDIS_HOST in ("127.0.0.1", "localhost", "::1")
_custom_urls = any(env.str(f"REDIS_{s.upper()}_URL", default="") for s in REDIS_STORE_DBS)

# --- Sentinel (docs/CONFIGURATION.md, "Replicas and Sentinel") ----------------------
# With sentinels every store but one with a URL of its own reaches its group's primary
# (writes, `get_redis`) and replicas (`get_read_redis`) through them; its DB stays.
_SERVICE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def _sentinel_address(text):
    host, _, port = text.strip().rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ImproperlyConfigured(f"REDIS_SENTINELS: {text!r} is not host:port")
    return (host.strip("[]"), int(port))


REDIS_SENTINELS = [_sentinel_address(a) for a in _read("REDIS_SENTINELS", env.list, []) if a]
REDIS_SENTINEL_SERVICE = env.str("REDIS_SENTINEL_SERVICE", default="movies")
REDIS_SENTINEL_PASSWORD = env.str("REDIS_SENTINEL_PASSWORD", default="") or REDIS_PASSWORD
REDIS_REPLICAS = _read("REDIS_REPLICAS", env.int, 0)
if not 0 <= REDIS_REPLICAS <= 5:
    raise ImproperlyConfigured("REDIS_REPLICAS: replicas of the embedded primary, 0 to 5")

REDIS_EMBEDDED = _bool(
    "REDIS_EMBEDDED", _local and not _custom_urls and not REDIS_TLS and not REDIS_SENTINELS
)
REDIS_EMBEDDED_DIR = Path(env.str("REDIS_EMBEDDED_DIR", default=str(VAR_DIR / "redis")))
if REDIS_REPLICAS and not REDIS_EMBEDDED:
    raise ImproperlyConfigured(
        "REDIS_REPLICAS: replicas of the embedded Redis, which is off here (an external "
        "server, REDIS_SENTINELS or REDIS_EMBEDDED=false); unset REDIS_REPLICAS"
    )
if REDIS_REPLICAS:
    from config.embedded_group import sentinel_ports

    # The embedded layout's own sentinels (config/embedded_group.py).
    REDIS_SENTINELS = [("127.0.0.1", p) for p in sentinel_ports(REDIS_PORT, REDIS_REPLICAS)]

REDIS_SENTINEL_SERVICES = {}  # store -> its group's service name, with sentinels only
for _store in REDIS_STORE_DBS if REDIS_SENTINELS else ():
    _name = f"REDIS_{_store.upper()}_SENTINEL_SERVICE"
    _own = env.str(_name, default="")
    if env.str(f"REDIS_{_store.upper()}_URL", default=""):
        if _own:
            raise ImproperlyConfigured(f"{_name}: the store has a URL of its own; set only one")
        continue
    if not _own:
        _name = "REDIS_SENTINEL_SERVICE"
    _service = _own or REDIS_SENTINEL_SERVICE
    if not _SERVICE_NAME.match(_service):
        raise ImproperlyConfigured(f"{_name}: {_service!r}: lower-case letters, digits, . _ -")
    if REDIS_REPLICAS and _service != REDIS_SENTINEL_SERVICE:
        raise ImproperlyConfigured(f"{_name}: the embedded sentinels watch one group only")
    REDIS_SENTINEL_SERVICES[_store] = _service
# How every sentinel is reached (their own password; TLS as the data nodes).
REDIS_SENTINEL_OPTIONS = {
    "password": REDIS_SENTINEL_PASSWORD or None,
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    "retry": None,  # no retry: an unreachable sentinel is skipped for the next one at once
    **({"ssl": True} if REDIS_TLS else {}),
    **({"ssl_ca_certs": REDIS_TLS_CA_CERT} if REDIS_TLS and REDIS_TLS_CA_CERT else {}),
}

REDISEARCH_INDEX_NAME = env.str("REDISEARCH_INDEX_NAME", default="movies_index")
REDISEARCH_PREFIX = env.str("REDISEARCH_PREFIX", default="movie:")
if not REDISEARCH_INDEX_NAME.replace("_", "").replace("-", "").isalnum():
    raise ImproperlyConfigured("REDISEARCH_INDEX_NAME: use letters, digits, '_' and '-' only")
if not REDISEARCH_PREFIX or " " in REDISEARCH_PREFIX:
    raise ImproperlyConfigured("REDISEARCH_PREFIX: must be a non-empty key prefix without spaces")

# The pool settings every store shares (config/redis_stores.py builds the pools).
REDIS_POOL_OPTIONS = {
    "max_connections": 20,
    # Seconds a command waits for a free connection when all are busy: at most as long as
    # one command may take (socket_timeout); then a ConnectionError, answered 503.
    "timeout": 5,
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    "retry_on_timeout": True,
    "health_check_interval": 30,
}

# Seconds a read on a Sentinel group's replica may go unanswered before it is retried on
# the next replica: a frozen node answers nothing, and the slowest search measured at 1M
# movies took 0.1 s. Writes keep socket_timeout.
REDIS_REPLICA_READ_TIMEOUT = _read("REDIS_REPLICA_READ_TIMEOUT", env.float, 2.0)
if not 0 < REDIS_REPLICA_READ_TIMEOUT <= REDIS_POOL_OPTIONS["socket_timeout"]:
    raise ImproperlyConfigured(
        "REDIS_REPLICA_READ_TIMEOUT: seconds, above 0 and at most "
        f"{REDIS_POOL_OPTIONS['socket_timeout']} (the socket timeout of every other command)"
    )

# django-redis on one URL, as the stores' pools (the tests move it with these options).
REDIS_CACHE_OPTIONS = {
    "CLIENT_CLASS": "django_redis.client.DefaultClient",
    "CONNECTION_POOL_CLASS": "redis.BlockingConnectionPool",
    "CONNECTION_POOL_KWARGS": {
        k: v for k, v in REDIS_POOL_OPTIONS.items() if k != "socket_connect_timeout"
    },
    "SOCKET_CONNECT_TIMEOUT": REDIS_POOL_OPTIONS["socket_connect_timeout"],
    "SOCKET_TIMEOUT": REDIS_POOL_OPTIONS["socket_timeout"],
}
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URLS["cache"],
        "OPTIONS": REDIS_CACHE_OPTIONS,
    }
}
if "cache" in REDIS_SENTINEL_SERVICES:
    # The URL's host is the group's name. Only the primary, reads too: a session or a lock
    # read back from a replica could be a write behind (a login lost, a logout undone).
    _service = REDIS_SENTINEL_SERVICES["cache"]
    CACHES["default"]["LOCATION"] = [
        _with_ca(_default_store_url(REDIS_STORE_DBS["cache"], _service))
    ]
    # A cache command on a frozen primary (no error, no answer) gives up after 1 s, not 5,
    # and is retried on the node the sentinels name then; a cache answer is a few kB, and
    # searching goes on without the cache meanwhile.
    _CACHE_SOCKET_TIMEOUT = 1
    CACHES["default"]["OPTIONS"] = {
        **REDIS_CACHE_OPTIONS,
        "CONNECTION_POOL_KWARGS": {
            **REDIS_CACHE_OPTIONS["CONNECTION_POOL_KWARGS"],
            "socket_timeout": _CACHE_SOCKET_TIMEOUT,
        },
        "SOCKET_TIMEOUT": _CACHE_SOCKET_TIMEOUT,
        "CLIENT_CLASS": "django_redis.client.SentinelClient",
        "CONNECTION_FACTORY": "django_redis.pool.SentinelConnectionFactory",
        "CONNECTION_POOL_CLASS": "config.redis_stores.SentinelBlockingPool",
        "SENTINELS": REDIS_SENTINELS,
        "SENTINEL_KWARGS": REDIS_SENTINEL_OPTIONS,
    }
SESSION_ENGINE = "django.contrib.sessions.backends.cache"

# --- Security -----------------------------------------------------------------
# Served behind TLS in production (HTTPS=true): secure cookies, HSTS and redirects.
HTTPS = _bool("HTTPS", False)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = _read("CSRF_TRUSTED_ORIGINS", env.list, [])

# --- Insights -----------------------------------------------------------------------
# The tracking middleware (insights/middleware.py; docs/INSIGHTS.md).
INSIGHTS_TRACKING_ENABLED = _bool("INSIGHTS_TRACKING_ENABLED", True)
# Write hits from a background thread in batches (false: in the request, one at a time).
INSIGHTS_RECORD_IN_BACKGROUND = _bool("INSIGHTS_RECORD_IN_BACKGROUND", True)
# A country header set by a proxy in front of every request (CF-IPCountry,
# CloudFront-Viewer-Country, ...). Clients can send any header: name one only when the
# proxy overwrites it. Empty: the region of Accept-Language is used.
INSIGHTS_COUNTRY_HEADER = env.str("INSIGHTS_COUNTRY_HEADER", default="")
# The header holding the client's address behind such a proxy (X-Forwarded-For,
# CF-Connecting-IP); empty: REMOTE_ADDR. Only hashed with a daily salt, never stored;
# the login throttle counts failures per this address too.
INSIGHTS_CLIENT_IP_HEADER = env.str("INSIGHTS_CLIENT_IP_HEADER", default="")
for _name in ("INSIGHTS_COUNTRY_HEADER", "INSIGHTS_CLIENT_IP_HEADER"):
    if not all(c.isalnum() or c == "-" for c in globals()[_name]):
        raise ImproperlyConfigured(f"{_name}: a header name has only letters, digits and '-'")
# Paths that are never page views, whatever they return: the admin, the health checks,
# the JSON APIs and the staff dashboards (static files and /favicon.ico never are either).
INSIGHTS_UNTRACKED_PATH_PREFIXES = ("/admin/", "/health/", "/api/", "/insights/", "/operations/")
if not all(isinstance(p, str) and p.startswith("/") for p in INSIGHTS_UNTRACKED_PATH_PREFIXES):
    raise ImproperlyConfigured("INSIGHTS_UNTRACKED_PATH_PREFIXES: each prefix starts with '/'")

# --- Operations -------------------------------------------------------------------
# The metrics collector (manage.py collect_metrics), the request-metrics middleware and
# the Prometheus endpoint /metrics (docs/OPERATIONS.md).
OPERATIONS_COLLECT_INTERVAL = _read("OPERATIONS_COLLECT_INTERVAL", env.float, 10.0)
if not 0.5 <= OPERATIONS_COLLECT_INTERVAL <= 3600:
    raise ImproperlyConfigured("OPERATIONS_COLLECT_INTERVAL: seconds between 0.5 and 3600")
OPERATIONS_REQUEST_METRICS = _bool("OPERATIONS_REQUEST_METRICS", True)
# Queue request figures for a writer thread (batched) instead of a round trip per request.
OPERATIONS_REQUEST_METRICS_BACKGROUND = _bool("OPERATIONS_REQUEST_METRICS_BACKGROUND", True)
# /metrics answers requests from loopback, or with "Authorization: Bearer <METRICS_TOKEN>".
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOW_LOOPBACK = _bool("METRICS_ALLOW_LOOPBACK", True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # django-axes logs its version at INFO in every process, management commands included.
    "loggers": {"axes.apps": {"level": "WARNING"}},
}
