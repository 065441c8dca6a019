"""docker-compose.yml names real modules and settings, and checks every service's health."""

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from config import env as _env_module  # noqa: F401 - proves config is importable
from tests.web_server import fetch, start_web
from worker.celery import QUEUES

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def _command(service: str) -> str:
    command = SERVICES[service]["command"]
    return " ".join(command) if isinstance(command, list) else command


def _probe(service: str) -> str:
    test = SERVICES[service]["healthcheck"]["test"]
    # Compose reads "$$" as a literal "$" for the shell in the container.
    return (" ".join(test) if isinstance(test, list) else test).replace("$$", "$")


def test_the_stack_has_its_services_each_restarting_with_a_health_check() -> None:
    running = {"postgres", "pgbouncer", "redis", "web", "worker", "beat", "sequencer", "witness"}
    # Beside them: the owner's migrate, run once.
    assert set(SERVICES) == running | {"migrate"}
    for name in running:
        service = SERVICES[name]
        assert service.get("restart") in {"unless-stopped", "always", "on-failure"}, name
        assert service["healthcheck"]["test"][0] in {"CMD", "CMD-SHELL"}, name
        assert service["healthcheck"].get("retries", 0) >= 1, name
    assert SERVICES["migrate"]["restart"] == "on-failure"


def test_only_migrate_connects_as_the_owner_and_the_platform_waits_for_it() -> None:
    """The platform's services have the platform's role alone; the owner's
    credentials go to the one-shot migrate, which they wait for."""
    assert "manage.py migrate" in _command("migrate")
    owner = SERVICES["migrate"]["environment"]["DATABASE_OWNER_URL"]
    direct = SERVICES["migrate"]["environment"]["DATABASE_URL"]
    platform = SERVICES["web"]["environment"]["DATABASE_URL"]
    # migrate goes straight to PostgreSQL with both roles ...
    assert owner.split("@")[1] == direct.split("@")[1]
    assert owner.split("//")[1].split(":")[0] != direct.split("//")[1].split(":")[0]
    # ... the platform's services reach the same database as the same role through the pool.
    assert direct.split("@")[0] == platform.split("@")[0]
    assert platform.split("@")[1].split("/")[1] == direct.split("@")[1].split("/")[1]
    for name in ("web", "worker", "beat"):
        service = SERVICES[name]
        assert "DATABASE_OWNER_URL" not in service["environment"], name
        assert service["environment"]["DATABASE_URL"] == platform, name
    for name in ("sequencer", "witness"):
        assert "DATABASE_OWNER_URL" not in SERVICES[name].get("environment", {}), name
    for name in ("web", "worker", "beat"):
        condition = SERVICES[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully", name


def test_web_and_workers_scale_behind_pgbouncer_in_transaction_pooling() -> None:
    """`--scale web=N --scale worker=N`: replicas share a few server
    connections; the platform then keeps no cursor across transactions."""
    pool = SERVICES["pgbouncer"]["environment"]
    assert pool["POOL_MODE"] == "transaction"
    assert int(pool["MAX_PREPARED_STATEMENTS"]) > 0  # the platform prepares its hot queries
    for name in ("web", "worker", "beat"):
        environment = SERVICES[name]["environment"]
        assert "@pgbouncer:" in environment["DATABASE_URL"], name
        assert environment["DATABASE_POOLED"] == "1", name
        assert SERVICES[name]["depends_on"]["pgbouncer"]["condition"] == "service_healthy"
    assert (
        pool["DB_USER"]
        == SERVICES["web"]["environment"]["DATABASE_URL"].split("//")[1].split(":")[0]
    )
    assert SERVICES["migrate"]["environment"]["DATABASE_POOLED"] == "0"
    # Each web replica takes one host port of a range, for the proxy to balance.
    [published] = SERVICES["web"]["ports"]
    first, last = published.rsplit(":", 1)[0].split(":")[1].split("-")
    assert int(last) - int(first) >= 1
    assert "ports" not in SERVICES["worker"]


def test_web_serves_the_real_wsgi_application_with_the_platforms_gunicorn_config() -> None:
    match = re.search(r"gunicorn -c python:([\w.]+) ([\w.]+):(\w+)", _command("web"))
    assert match
    config = importlib.import_module(match.group(1))
    assert config.reload is False and config.bind
    module = importlib.import_module(match.group(2))
    assert callable(getattr(module, match.group(3)))
    assert SERVICES["web"]["environment"]["DEPLOYMENT"] == "production"
    assert SERVICES["web"]["environment"]["DEBUG"] == "0"


def test_each_health_check_asks_its_own_service() -> None:
    assert "http://127.0.0.1:8000/healthz" in _probe("web")
    node = re.search(r"-n (\w+)@%h", _command("worker"))
    assert node, "the worker is named so that its own health check can ping it"
    assert f"inspect ping -d {node.group(1)}@$HOSTNAME" in _probe("worker")
    pidfile = re.search(r"--pidfile (\S+)", _command("beat"))
    assert pidfile and pidfile.group(1) in _probe("beat")
    assert "pg_isready" in _probe("postgres")
    assert "redis-cli ping" in _probe("redis")


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_web_health_check_passes_against_the_production_settings(
    celery_worker, tmp_path: Path
) -> None:
    """The probe reaches /healthz past the host check and the HTTPS redirect,
    as the TLS proxy does; a bare request would not."""
    allowed = "akut.example.dk"
    web = start_web(
        tmp_path,
        DEPLOYMENT="production",
        SECRET_KEY="p" * 60,
        ALLOWED_HOSTS=allowed,
        BIND_HOST="127.0.0.1",
    )
    try:
        status, _, _, _ = fetch(f"{web.url}/healthz")
        assert status != 200
        script = SERVICES["web"]["healthcheck"]["test"][-1].replace(":8000/", f":{web.port}/")
        # As Docker does: unhealthy only after `retries` failed probes in a row
        # (a fresh server's first answer may be slow on a busy machine).
        for _ in range(SERVICES["web"]["healthcheck"]["retries"]):
            probe = subprocess.run(
                [sys.executable, "-c", script],
                env={**os.environ, "ALLOWED_HOSTS": allowed},
                capture_output=True,
                text=True,
                timeout=60,
            )
            if probe.returncode == 0:
                break
    finally:
        web.stop()
    assert probe.returncode == 0, probe.stderr + web.output()[-3000:]


def test_worker_and_beat_use_the_real_celery_app_and_queues() -> None:
    for service in ("worker", "beat"):
        match = re.search(r"-A ([\w.]+):(\w+)", _command(service))
        assert match, service
        module = importlib.import_module(match.group(1))
        assert getattr(module, match.group(2)).main == "tvaerakut"
    queues = re.search(r"-Q ([\w,]+)", _command("worker"))
    assert queues and set(queues.group(1).split(",")) == set(QUEUES)


def test_the_environment_uses_the_variables_the_settings_read() -> None:
    settings_source = (ROOT / "config" / "settings.py").read_text()
    example = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z_]+)=", example, flags=re.M))
    for service in ("migrate", "web", "worker", "beat"):
        for variable in SERVICES[service]["environment"]:
            assert f'"{variable}"' in settings_source, variable
            assert variable in documented, variable
    read_by_settings = set(re.findall(r'env_\w+\(\s*"([A-Z_]+)"', settings_source))
    assert read_by_settings <= documented, read_by_settings - documented


def test_every_volume_of_the_image_s_services_is_writable_by_its_user() -> None:
    """A new named volume takes the owner of the directory it is mounted on;
    the witness's /srv/witness was not in the image, so its volume was root's
    and the witness, running as the image's user, could not keep its key."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    user = re.search(r"^USER (\S+)", dockerfile, flags=re.M)
    assert user
    owned = {
        path
        for paths in re.findall(rf"chown -R {user.group(1)} ([^\n\\]+)", dockerfile)
        for path in paths.split()
    }
    for name, service in SERVICES.items():
        if "build" not in service:
            continue
        for volume in service.get("volumes", []):
            target = volume.split(":")[1] if isinstance(volume, str) else volume["target"]
            assert target in owned, (name, target, owned)


# Variables the platform's own processes pass to a child they start, not settings.
_INTERNAL_VARIABLES = {"DJANGO_SETTINGS_MODULE", "OIDC_TEST_CONFIG"}


def test_every_variable_the_code_reads_is_in_env_example() -> None:
    """Settings are read by config/settings.py, and a few by the commands that
    run on their own (the witness): each one is listed and explained."""
    example = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", example, flags=re.M))
    read: set[str] = set()
    for package in (
        "config",
        "core",
        "consent",
        "acute",
        "medicine_cabinet",
        "integrations",
        "portal",
        "worker",
    ):
        for source in (ROOT / package).rglob("*.py"):
            text = source.read_text()
            read |= set(
                re.findall(r'(?:\benv_\w+|environ\.get|getenv|\benv)\(\s*"([A-Z][A-Z0-9_]+)"', text)
            )
            read |= set(re.findall(r'environ\[\s*"([A-Z][A-Z0-9_]+)"\s*\]', text))
    assert "AUDIT_WITNESS_DIR" in read  # the scan sees the witness's own
    missing = read - documented - _INTERNAL_VARIABLES
    assert not missing, sorted(missing)
    # And nothing is listed that nobody reads: a variable of the code, one
    # docker-compose passes on (`${NAME}`), or one provider's OIDC_<NAME>_...
    compose = set(re.findall(r"\$\{([A-Z][A-Z0-9_]+)", (ROOT / "docker-compose.yml").read_text()))
    fields = (
        "ISSUER|CLIENT_ID|CLIENT_SECRET|TITLE|ORGANISATIONS|ORGANISATION_CLAIM|ROLE_CLAIM|SCOPE"
    )
    per_provider = {n for n in documented if re.fullmatch(rf"OIDC_[A-Z0-9]+_(?:{fields})", n)}
    unread = documented - read - compose - per_provider
    assert not unread, sorted(unread)
    for name, service in SERVICES.items():
        if "build" in service:
            undocumented = set(service.get("environment", {})) - documented
            assert not undocumented, (name, sorted(undocumented))
