"""Settings come from the environment and a wrong value fails loudly, naming the variable."""

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import (
    env_bool,
    env_choice,
    env_decimal,
    env_int,
    env_list,
    env_url,
    is_loopback,
    oidc_providers_from_env,
)

ROOT = Path(__file__).resolve().parents[2]
ANYWHERE = "0.0.0.0"  # noqa: S104 - the address local mode must refuse


def test_bool_accepts_the_usual_spellings_and_refuses_the_rest() -> None:
    assert env_bool("X", False, environ={"X": "yes"}) is True
    assert env_bool("X", True, environ={"X": "0"}) is False
    assert env_bool("X", True, environ={}) is True
    with pytest.raises(ImproperlyConfigured, match="X"):
        env_bool("X", False, environ={"X": "ture"})


def test_int_refuses_words_and_out_of_range() -> None:
    assert env_int("PORT", 8000, environ={"PORT": "9000"}) == 9000
    with pytest.raises(ImproperlyConfigured, match="PORT"):
        env_int("PORT", 8000, environ={"PORT": "eighty"})
    with pytest.raises(ImproperlyConfigured, match="at most 65535"):
        env_int("PORT", 8000, maximum=65535, environ={"PORT": "70000"})


def test_decimal_refuses_what_would_lift_a_limit() -> None:
    """R6's privacy limits are decimals: a decimal comma, a word, NaN, Infinity,
    an extra digit or a value out of bounds stops the platform."""
    bounds = {"minimum": Decimal("0.05"), "maximum": Decimal("1"), "places": 3}
    assert env_decimal("E", Decimal("0.5"), environ={"E": " 0.25 "}, **bounds) == Decimal("0.25")
    assert env_decimal("E", Decimal("0.5"), environ={}, **bounds) == Decimal("0.5")
    for wrong, message in (
        ("0,5", "decimal number"),
        ("half", "decimal number"),
        ("NaN", "decimal number"),
        ("Infinity", "decimal number"),
        ("0.0001", "at most 3 decimals"),
        ("50", "at most 1"),
        ("-0.5", "at least 0.05"),
        ("0", "at least 0.05"),
    ):
        with pytest.raises(ImproperlyConfigured, match=f"E must .*{message}"):
            env_decimal("E", Decimal("0.5"), environ={"E": wrong}, **bounds)


def test_list_refuses_empty_items() -> None:
    assert env_list("H", ["a"], environ={"H": "a.dk, b.dk"}) == ["a.dk", "b.dk"]
    with pytest.raises(ImproperlyConfigured):
        env_list("H", [], environ={"H": "a.dk,,b.dk"})


def test_an_identity_provider_names_the_organisations_it_speaks_for() -> None:
    environ = {
        "OIDC_PROVIDERS": "region",
        "OIDC_REGION_ISSUER": "https://login.example-region.dk",
        "OIDC_REGION_CLIENT_ID": "tvaerakut",
        "OIDC_REGION_CLIENT_SECRET": "s",
        "OIDC_REGION_TITLE": "Region",
    }
    # Without them it could make staff of any organisation the platform knows.
    with pytest.raises(ImproperlyConfigured, match="OIDC_REGION_ORGANISATIONS"):
        oidc_providers_from_env(environ=environ)
    with pytest.raises(ImproperlyConfigured, match="OIDC_REGION_ORGANISATIONS"):
        oidc_providers_from_env(environ={**environ, "OIDC_REGION_ORGANISATIONS": "region-h"})
    region = oidc_providers_from_env(
        environ={**environ, "OIDC_REGION_ORGANISATIONS": "900000111111, 900000222222"}
    )["region"]
    assert region["organisations"] == "900000111111,900000222222"


def test_url_refuses_wrong_scheme_without_echoing_the_secret() -> None:
    with pytest.raises(ImproperlyConfigured) as caught:
        env_url(
            "DATABASE_URL",
            None,
            schemes=("postgres",),
            environ={"DATABASE_URL": "mysql://u:hunter2@db/x"},
        )
    assert "hunter2" not in str(caught.value)


def test_choice_refuses_anything_not_listed() -> None:
    assert env_choice("D", "production", choices=("production", "local"), environ={}) == (
        "production"
    )
    assert env_choice("D", "production", choices=("production", "local"), environ={"D": "local"})
    with pytest.raises(ImproperlyConfigured, match="D must be one of"):
        env_choice("D", "production", choices=("production", "local"), environ={"D": "Local"})


def test_only_this_machines_own_addresses_count_as_loopback() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in (ANYWHERE, "::", "10.0.0.5", "akut.example.dk", ""))


def _settings_with(*, show: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DEBUG",
            "SECRET_KEY",
            "DATABASE_URL",
            "DATABASE_OWNER_URL",
            "REDIS_URL",
            "PORT",
            "DEPLOYMENT",
        }
    }
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {show}"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "1", "PORT": "eighty"}, "PORT must be a whole number"),
        ({"DEBUG": "maybe"}, "DEBUG must be one of"),
        ({"DEBUG": "0"}, "SECRET_KEY is required when DEBUG is off"),
        # .env.example exported as it is, or a manage.py command run beside
        # `make run`: the message says what a trial on this machine needs.
        ({"DEBUG": "0", "DEPLOYMENT": "production"}, "or set DEPLOYMENT=local"),
        ({"DEBUG": "1", "REDIS_URL": "localhost:6379"}, "REDIS_URL must be a URL"),
        ({"DEBUG": "1", "DATABASE_URL": "oracle://x/y"}, "DATABASE_URL must be a URL"),
        (
            {"DEBUG": "1", "DATABASE_OWNER_URL": "postgres://owner@127.0.0.1/tvaerakut"},
            "DATABASE_OWNER_URL needs DATABASE_URL on PostgreSQL",
        ),
        (
            {
                "DEBUG": "1",
                "DATABASE_URL": "postgres://app@127.0.0.1:5432/tvaerakut",
                "DATABASE_OWNER_URL": "postgres://owner:pw@127.0.0.1:5432/other",
            },
            "must name the same server, port and database",
        ),
        (
            {
                "DEBUG": "1",
                "DATABASE_URL": "postgres://app@127.0.0.1:5432/tvaerakut",
                "DATABASE_OWNER_URL": "postgres://app@127.0.0.1:5432/tvaerakut",
            },
            "must name two different roles",
        ),
        ({"DEBUG": "0", "DEPLOYMENT": "staging"}, "DEPLOYMENT must be one of"),
        (
            {"DEBUG": "0", "DEPLOYMENT": "local", "BIND_HOST": ANYWHERE},
            "BIND_HOST is not a loopback address",
        ),
        ({"DEBUG": "1", "WEB_WORKERS": "0"}, "WEB_WORKERS must be at least 1"),
        (
            {"DEBUG": "1", "CELERY_TASK_TIME_LIMIT": "10", "CELERY_TASK_SOFT_TIME_LIMIT": "20"},
            "SOFT_TIME_LIMIT",
        ),
        (
            {"DEBUG": "1", "CONSENT_ANALYSIS_EPSILON_PER_RUN": "0,5"},
            "CONSENT_ANALYSIS_EPSILON_PER_RUN must be a decimal number",
        ),
        (
            {"DEBUG": "1", "CONSENT_ANALYSIS_EPSILON_BUDGET": "inf"},
            "CONSENT_ANALYSIS_EPSILON_BUDGET must be a decimal number",
        ),
        (
            {
                "DEBUG": "1",
                "CONSENT_ANALYSIS_EPSILON_PER_RUN": "1",
                "CONSENT_ANALYSIS_EPSILON_BUDGET": "0.5",
            },
            "CONSENT_ANALYSIS_EPSILON_BUDGET must be at least CONSENT_ANALYSIS_EPSILON_PER_RUN",
        ),
        (
            {"DEBUG": "1", "CONSENT_ANALYSIS_BUDGET_WINDOW_DAYS": "1"},
            "CONSENT_ANALYSIS_BUDGET_WINDOW_DAYS must be at least 7",
        ),
    ],
)
def test_platform_refuses_to_start_with_a_bad_setting(env: dict[str, str], message: str) -> None:
    result = _settings_with(**env)
    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"PORT": "abc"}, "PORT"),
        # A port that is no number, a missing database name, a password with
        # an unescaped "/": dj_database_url's own error named nothing.
        ({"DATABASE_URL": "postgres://app:hunter2@127.0.0.1:notaport/tvaerakut"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgres://app:hunter2@127.0.0.1:5432/"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgres://app:hun/ter2@127.0.0.1:5432/tvaerakut"}, "DATABASE_URL"),
        ({"REDIS_URL": "redis://:hunter2@127.0.0.1:notaport/0"}, "REDIS_URL"),
        ({"REDIS_URL": "http://127.0.0.1:6379/0"}, "REDIS_URL"),
        # Read only when first used: the sequencer died on a base64 error, a
        # dispatch on an ImportError.
        ({"AUDIT_LOG_SIGNING_KEY": "hunter2"}, "AUDIT_LOG_SIGNING_KEY"),
        (
            {"ACUTE_TRAVEL_TIME_FUNCTION": "acute.dispatch.no_such_function"},
            "ACUTE_TRAVEL_TIME_FUNCTION",
        ),
    ],
)
def test_a_bad_setting_stops_every_command_with_one_line_naming_it(
    env: dict[str, str], variable: str, tmp_path: Path
) -> None:
    """What `make run` (its first step is `manage.py migrate`) and docker-compose's
    migrate show: the variable named on one line, no traceback, no password."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL", "DATABASE_OWNER_URL", "REDIS_URL"}
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**clean, "DEPLOYMENT": "local", "DEBUG": "0", "VAR_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"Configuration error: {variable} "), lines[0]
    assert "Traceback" not in result.stderr and "hunter2" not in result.stderr


def test_production_settings_pass_the_deploy_check() -> None:
    # Test-only switches (e.g. async-unsafe for the browser tests) are not production.
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={
            **clean,
            "DEBUG": "0",
            "SECRET_KEY": "k" * 20 + "-production-only-not-a-real-key-1234567890",
            "ALLOWED_HOSTS": "akut.example.dk",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


_SECURITY = (
    "from django.conf import settings as s; print(s.DEBUG, s.SECURE_SSL_REDIRECT,"
    " s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, bool(s.SECRET_KEY))"
)


def test_local_mode_keeps_debug_off_and_drops_only_what_plain_http_cannot_carry(
    tmp_path: Path,
) -> None:
    """`make run`: no key to configure, plain HTTP on 127.0.0.1, and still no DEBUG."""
    local = _settings_with(show=_SECURITY, DEBUG="0", DEPLOYMENT="local", VAR_DIR=str(tmp_path))
    assert local.returncode == 0, local.stderr
    assert local.stdout.split() == ["False", "False", "False", "False", "0", "True"]
    assert (tmp_path / "dev-secret-key").stat().st_mode & 0o077 == 0

    anywhere = _settings_with(
        DEBUG="0",
        DEPLOYMENT="local",
        BIND_HOST=ANYWHERE,
        LOCAL_ALLOW_NON_LOOPBACK="1",
        VAR_DIR=str(tmp_path),
    )
    assert anywhere.returncode == 0, anywhere.stderr


def test_production_keeps_every_transport_protection_on(tmp_path: Path) -> None:
    production = _settings_with(
        show=_SECURITY, DEBUG="0", SECRET_KEY="p" * 60, BIND_HOST=ANYWHERE, VAR_DIR=str(tmp_path)
    )
    assert production.returncode == 0, production.stderr
    assert production.stdout.split() == ["False", "True", "True", "True", "31536000", "True"]
    assert not (tmp_path / "dev-secret-key").exists()


def test_make_run_on_the_embedded_database_starts_without_a_warning(tmp_path: Path) -> None:
    """`make run`'s migrate on SQLite printed WARNINGS about a constraint
    SQLite cannot keep (one open care relationship per source); PostgreSQL
    keeps it, and the system check on it is not silenced there."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL", "DATABASE_OWNER_URL", "REDIS_URL"}
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--database", "default"],
        cwd=ROOT,
        env={**clean, "DEPLOYMENT": "local", "DEBUG": "0", "VAR_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "WARNINGS" not in result.stderr + result.stdout
    assert "no issues" in result.stdout
    from django.conf import settings
    from django.db import connection

    if connection.vendor == "postgresql":
        assert "models.W047" not in getattr(settings, "SILENCED_SYSTEM_CHECKS", [])


def test_the_local_broker_connects_without_a_warning_in_the_log(tmp_path: Path) -> None:
    """Each /healthz probe of `make run`'s file-system broker logged kombu's
    "No hostname was supplied" warning."""
    probe = (
        "from worker.health import broker_check, worker_check; print(broker_check())\n"
        "try:\n    worker_check()\nexcept RuntimeError:\n    pass"
    )
    result = _settings_with(show=probe, DEBUG="0", DEPLOYMENT="local", VAR_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "filesystem", result.stdout
    assert "WARNING" not in result.stderr, result.stderr
