"""The architecture holds (README, "Architecture"): imports run one way through the
layers, permissions are decided in one module, and no import hides in a function."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from org.models import Role

ROOT = Path(__file__).resolve().parent.parent
APPS = ("cascade", "core", "org", "goals", "kpis", "cycles", "reviews", "pages", "demo")
# Where roles are defined and decided: nowhere else may compare them.
ROLE_HOMES = {Path("org/permissions.py"), Path("org/models.py")}
ROLE_VALUES = set(Role.values)
ROLE_NAMES = set(Role.names)


def app_sources() -> list[Path]:
    return sorted(
        path.relative_to(ROOT)
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts
    )


def _is_role(node: ast.AST) -> bool:
    """`x.role`, `Role.MANAGER`, or a role's value written out ("manager")."""
    if isinstance(node, ast.Attribute):
        if node.attr == "role":
            return True
        return (
            isinstance(node.value, ast.Name) and node.value.id == "Role" and node.attr in ROLE_NAMES
        )
    if isinstance(node, ast.Constant):
        return node.value in ROLE_VALUES
    if isinstance(node, ast.Tuple | ast.List | ast.Set):  # a set of roles, not of field names
        return bool(node.elts) and all(_is_role(element) for element in node.elts)
    return False


def role_decisions(source: str) -> list[int]:
    """Lines that compare a role (==, !=, in, not in) with anything."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Compare)
        and any(_is_role(operand) for operand in (node.left, *node.comparators))
    ]


TEMPLATE_ROLE = re.compile(r"\.role\s*(==|!=|\bin\b|\bnot in\b)|\brole\s*==")


def test_the_role_detector_sees_every_way_of_comparing_a_role():
    bad = """
if member.role == "manager": pass
if actor.role in (Role.ADMIN, Role.LEADER): pass
if kind != Role.REVIEWER: pass
ok = role == "member"
"""
    assert role_decisions(bad) == [2, 3, 4, 5]
    assert role_decisions('if who in ("admin", "leader"): pass') == [1]
    fine = """
Member(role=Role.MEMBER)
if field == "owner": pass
if role not in Role.values: pass
if field not in ("role", "department", "manager"): pass
"""
    assert role_decisions(fine) == []
    assert TEMPLATE_ROLE.search('{% if request.member.role == "admin" %}')


def test_no_role_is_compared_outside_the_permissions_module():
    found = [
        f"{path}:{line}"
        for path in app_sources()
        if path not in ROLE_HOMES
        for line in role_decisions((ROOT / path).read_text())
    ]
    assert found == [], "decide with org/permissions.py instead: " + ", ".join(found)


def test_no_template_compares_a_role():
    found = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "templates").rglob("*.html"))
        if TEMPLATE_ROLE.search(path.read_text())
    ]
    assert found == [], "use a permission filter ({% load cascade %}) instead: " + str(found)


def function_imports(source: str) -> list[int]:
    """Imports inside a function, but for an AppConfig's ready() (models may not be
    imported before the app registry is)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name != "ready":
            lines += [
                inner.lineno
                for inner in ast.walk(node)
                if isinstance(inner, ast.Import | ast.ImportFrom)
            ]
    return lines


def test_no_import_hides_inside_a_function():
    assert function_imports("def f():\n    from goals import rollup\n") == [2]
    found = [
        f"{path}:{line}"
        for path in app_sources()
        for line in function_imports((ROOT / path).read_text())
    ]
    assert found == [], "import at the top of the module: " + ", ".join(found)


@pytest.mark.skipif(sys.platform == "win32", reason="runs the installed lint-imports")
def test_imports_run_one_way_through_the_layers():
    """The import-linter contract of pyproject.toml holds (CI runs it too)."""
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports"))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout
