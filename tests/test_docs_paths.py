"""Every file, folder and management command the README and docs/ name in
backticks exists, so a newcomer following them finds what they point at."""

import re
from pathlib import Path

import pytest
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
# Top-level folders of the repository: a backticked path starting with one is a
# path in it. Generated folders (bench/results/, var/) are written by runs.
TOP = (
    *("config", "core", "consent", "acute", "medicine_cabinet", "integrations", "portal"),
    *("worker", "tests", "bench", "docs", "locale", ".ci"),
)
GENERATED = ("bench/results/", "var/")
PATH = re.compile(r"^(?:" + "|".join(re.escape(t) for t in TOP) + r")/[\w./-]*$")
# Paths in other repositories the docs cite (MedCom's CareCommunication).
ELSEWHERE = {"docs/assets/CareCommunication_testexamples.zip"}


def _backticked(doc: Path) -> list[tuple[int, str]]:
    text = doc.read_text()
    return [
        (text.count("\n", 0, m.start()) + 1, m.group(1).strip())
        for m in re.finditer(r"`([^`\n]+)`", text)
    ]


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: str(d.relative_to(ROOT)))
def test_named_paths_exist(doc: Path) -> None:
    missing = [
        f"{line}: {quoted}"
        for line, quoted in _backticked(doc)
        for word in quoted.split()
        if PATH.match(word.rstrip(".,:;)"))
        and not word.startswith(GENERATED)
        and word not in ELSEWHERE
        and not (ROOT / word.rstrip(".,:;)")).exists()
    ]
    assert not missing, f"{doc.name} names paths that do not exist: {missing}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: str(d.relative_to(ROOT)))
def test_named_management_commands_exist(doc: Path) -> None:
    commands = get_commands()
    missing = [
        f"{line}: {command}"
        for line, quoted in _backticked(doc)
        for command in re.findall(r"manage\.py ([a-z_]+)", quoted)
        if command not in commands
    ]
    assert not missing, f"{doc.name} names commands that do not exist: {missing}"
