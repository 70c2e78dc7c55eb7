"""Settings read from the environment once per process (litestar-fullstack style)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = PROJECT_DIR / "migrations"


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    return default if raw is None else raw.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class DatabaseSettings:
    """Where the control plane lives and how tenant pools behave."""

    # Admin DSN of the primary PostgreSQL server; None means "start the embedded one".
    url: str | None = None
    # Prefix of every database and role we create: lets dev, tests and benches share a server.
    prefix: str = "ao"
    pool_max_size: int = 3
    # Hard ceiling on tenant connections this process may hold to one server.
    max_connections_per_server: int = 60
    pool_idle_seconds: float = 60.0
    acquire_timeout: float = 10.0
    # Seconds to wait for a store database server to answer a new connection; a server that does not
    # answer in time counts as down (its stores get the "temporarily unavailable" page).
    connect_timeout: float = 5.0
    # 0 disables asyncpg's statement cache, needed behind PgBouncer < 1.21 in transaction mode.
    statement_cache_size: int = 100
    # Servers whose store connections go through a PgBouncer in transaction mode: name -> "host:port".
    # Store pools connect there with the statement cache off; admin work, migrations (advisory locks)
    # and the job queue (LISTEN) keep using the server's own, direct DSN.
    pgbouncer: dict[str, str] = field(default_factory=dict)

    @property
    def control_database(self) -> str:
        return f"{self.prefix}_control"

    @property
    def template_database(self) -> str:
        return f"{self.prefix}_template"

    @property
    def template_role(self) -> str:
        return f"{self.prefix}_template_owner"


@dataclass(frozen=True)
class Settings:
    db: DatabaseSettings = field(default_factory=DatabaseSettings)
    data_dir: Path = PROJECT_DIR / ".autooffice"
    secret_key: str = ""
    public_url: str = "http://127.0.0.1:8000"
    # Cookies are Secure unless the request is plain http to localhost (a development run); True makes
    # them Secure there too.
    cookie_secure: bool = False
    demo_password: str = "demo-demo-demo"  # noqa: S105 - the documented demo login
    # Failed logins an (account, address) pair may make without waiting; each further one doubles the
    # wait (``login_first_delay_seconds``, then twice that, ...) up to ``login_max_delay_seconds``.
    login_attempts: int = 5
    # The same for one address over all accounts (password spraying).
    login_address_attempts: int = 20
    login_first_delay_seconds: int = 1
    login_max_delay_seconds: int = 900
    # Addresses or CIDRs of reverse proxies whose X-Forwarded-For (and -Proto) we believe; none by default.
    trusted_proxies: tuple[str, ...] = ()
    debug: bool = False
    # Run a job worker inside the web process (``make run``); production runs ``autooffice worker``.
    inprocess_worker: bool = False
    # Feed URLs on private networks are refused (SSRF guard); tests and closed installations may allow them.
    feed_allow_private: bool = False
    # "json" (one object per line, for log shippers) or "text" (``make run``).
    log_format: str = "json"
    log_level: str = "INFO"
    # Bearer token that ``/metrics`` requires; without one the endpoint answers 404.
    metrics_token: str = ""
    # Job workers beat every few seconds; a job whose worker fell silent this long is retried elsewhere.
    worker_heartbeat_seconds: float = 10.0
    worker_stalled_seconds: float = 30.0
    # The same guard for URLs that automation rules call.
    hooks_allow_private: bool = False

    def with_db(self, **changes: object) -> Settings:
        return replace(self, db=replace(self.db, **changes))  # type: ignore[arg-type]


def _secret_key(data_dir: Path) -> str:
    """The key that signs cookies and encrypts secrets; lives outside the database."""
    from_env = os.environ.get("AUTOOFFICE_SECRET_KEY")
    if from_env:
        return from_env
    key_file = data_dir / "secret.key"
    if key_file.exists():
        return key_file.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def _env_map(name: str) -> dict[str, str]:
    """``a=host:port,b=host:port`` → ``{"a": "host:port", "b": "host:port"}``."""
    raw = os.environ.get(name, "")
    pairs = (item.split("=", 1) for item in raw.split(",") if "=" in item)
    return {key.strip(): value.strip() for key, value in pairs if key.strip() and value.strip()}


def _env_list(name: str) -> tuple[str, ...]:
    """``a, b,c`` → ``("a", "b", "c")``."""
    return tuple(item.strip() for item in os.environ.get(name, "").split(",") if item.strip())


def load_settings() -> Settings:
    data_dir = Path(os.environ.get("AUTOOFFICE_DATA_DIR", PROJECT_DIR / ".autooffice"))
    port = _env_int("PORT", 8000)
    db = DatabaseSettings(
        url=os.environ.get("AUTOOFFICE_DATABASE_URL") or None,
        prefix=os.environ.get("AUTOOFFICE_DB_PREFIX", "ao"),
        pool_max_size=_env_int("AUTOOFFICE_POOL_MAX_SIZE", 3),
        max_connections_per_server=_env_int("AUTOOFFICE_MAX_CONNECTIONS_PER_SERVER", 60),
        pool_idle_seconds=float(_env_int("AUTOOFFICE_POOL_IDLE_SECONDS", 60)),
        connect_timeout=float(_env_int("AUTOOFFICE_CONNECT_TIMEOUT", 5)),
        statement_cache_size=_env_int("AUTOOFFICE_STATEMENT_CACHE_SIZE", 100),
        pgbouncer=_env_map("AUTOOFFICE_PGBOUNCER"),
    )
    return Settings(
        db=db,
        data_dir=data_dir,
        secret_key=_secret_key(data_dir),
        public_url=os.environ.get("AUTOOFFICE_PUBLIC_URL", f"http://127.0.0.1:{port}"),
        cookie_secure=_env_bool("AUTOOFFICE_COOKIE_SECURE", False),
        trusted_proxies=_env_list("AUTOOFFICE_TRUSTED_PROXIES"),
        login_attempts=_env_int("AUTOOFFICE_LOGIN_ATTEMPTS", 5),
        login_address_attempts=_env_int("AUTOOFFICE_LOGIN_ADDRESS_ATTEMPTS", 20),
        login_first_delay_seconds=_env_int("AUTOOFFICE_LOGIN_FIRST_DELAY_SECONDS", 1),
        login_max_delay_seconds=_env_int("AUTOOFFICE_LOGIN_MAX_DELAY_SECONDS", 900),
        demo_password=os.environ.get("AUTOOFFICE_DEMO_PASSWORD", "demo-demo-demo"),
        debug=_env_bool("AUTOOFFICE_DEBUG", False),
        inprocess_worker=_env_bool("AUTOOFFICE_INPROCESS_WORKER", False),
        feed_allow_private=_env_bool("AUTOOFFICE_FEED_ALLOW_PRIVATE", False),
        log_format=os.environ.get("AUTOOFFICE_LOG_FORMAT", "json").strip().lower(),
        log_level=os.environ.get("AUTOOFFICE_LOG_LEVEL", "INFO").strip().upper(),
        metrics_token=os.environ.get("AUTOOFFICE_METRICS_TOKEN", ""),
        worker_heartbeat_seconds=float(os.environ.get("AUTOOFFICE_WORKER_HEARTBEAT_SECONDS", "10")),
        worker_stalled_seconds=float(os.environ.get("AUTOOFFICE_WORKER_STALLED_SECONDS", "30")),
        hooks_allow_private=_env_bool("AUTOOFFICE_HOOKS_ALLOW_PRIVATE", False),
    )


@cache
def get_settings() -> Settings:
    return load_settings()
