"""Every code a production path can write to the audit log's ``reason_code``,
read from the code itself: literals and constants given as ``reason_code``,
the codes of the platform's errors (a refusal is recorded with its code, on
every door, the MedCom message door included), codes handed to a helper that
takes a ``code``, the gate's decisions and the message events."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("acute", "consent", "core", "integrations", "medicine_cabinet", "portal", "worker")
ERROR_BASES = {"PlatformError", "InvalidMessage"}
EVENT_CLASSES = {"Event", "MedComEvent"}
CODE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")


def _modules():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path, ast.parse(path.read_text(encoding="utf-8"))


def _strings(node, constants):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.Name) and node.id in constants:
        return {constants[node.id]}
    if isinstance(node, ast.IfExp):
        return _strings(node.body, constants) | _strings(node.orelse, constants)
    return set()


def recorded_codes() -> set[str]:
    modules = list(_modules())
    constants, errors, codes = {}, set(ERROR_BASES), set()
    for _, tree in modules:
        for node in tree.body:
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                for target in node.targets:
                    if isinstance(target, ast.Name) and target.id.isupper():
                        constants[target.id] = node.value.value
    grew = True
    while grew:
        grew = False
        for _, tree in modules:
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.ClassDef)
                    and node.name not in errors
                    and any(isinstance(b, ast.Name) and b.id in errors for b in node.bases)
                ):
                    errors.add(node.name)
                    grew = True
    # Helpers that take a code and write it (``_denied(partner, read, code, ...)``).
    code_params = {}
    for _, tree in modules:
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for i, arg in enumerate(node.args.args):
                    if arg.arg in ("code", "reason_code"):
                        code_params.setdefault(node.name, set()).add(i)
    for _, tree in modules:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = (
                    node.func.id
                    if isinstance(node.func, ast.Name)
                    else getattr(node.func, "attr", "")
                )
                for i in code_params.get(func, ()):
                    if i < len(node.args):
                        codes |= {c for c in _strings(node.args[i], constants) if CODE.match(c)}
                for keyword in node.keywords:
                    if keyword.arg == "code":
                        codes |= {c for c in _strings(keyword.value, constants) if CODE.match(c)}
            if isinstance(node, ast.ClassDef) and node.name in EVENT_CLASSES:
                for item in node.body:
                    if isinstance(item, ast.Assign):
                        codes |= _strings(item.value, constants)
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and node.target.id == "reason_code"
                and node.value is not None
            ):
                codes |= _strings(node.value, constants)
            if not isinstance(node, ast.Call):
                continue
            func = (
                node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            )
            for keyword in node.keywords:
                if keyword.arg == "reason_code":
                    codes |= _strings(keyword.value, constants)
            if func in errors or func == "Decision":
                # Decision(permitted, reason_code, ...); an error's code comes first.
                position = 1 if func == "Decision" else 0
                if position < len(node.args):
                    codes |= _strings(node.args[position], constants)
                for keyword in node.keywords:
                    if keyword.arg in ("code", "reason_code"):
                        codes |= _strings(keyword.value, constants)
    return {c for c in codes if c}
