"""docker-compose.yml names real modules and settings, and checks every service's health."""

import importlib
import re
from pathlib import Path

import yaml

from config import env as _env_module  # noqa: F401 - proves config is importable
from worker.celery import QUEUES

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def _command(service: str) -> str:
    command = SERVICES[service]["command"]
    return " ".join(command) if isinstance(command, list) else command


def test_the_stack_has_the_five_services_each_with_a_health_check() -> None:
    assert set(SERVICES) == {"postgres", "redis", "web", "worker", "beat"}
    for name, service in SERVICES.items():
        assert "healthcheck" in service, name


def test_web_serves_the_real_wsgi_application() -> None:
    match = re.search(r"gunicorn ([\w.]+):(\w+)", _command("web"))
    assert match
    module = importlib.import_module(match.group(1))
    assert callable(getattr(module, match.group(2)))
    assert "manage.py migrate" in _command("web")


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
    for service in ("web", "worker", "beat"):
        for variable in SERVICES[service]["environment"]:
            assert f'"{variable}"' in settings_source, variable
            assert variable in documented, variable
    read_by_settings = set(re.findall(r'env_\w+\(\s*"([A-Z_]+)"', settings_source))
    assert read_by_settings <= documented, read_by_settings - documented
