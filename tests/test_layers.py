"""The layers of the code, as README's architecture section states them, fail `make lint`."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
# Modules that work on a request by nature: views, the campaign page shared by two views,
# the staff access guard, locale choice, request helpers, the app factory, mail rendering,
# the cross-site guard, the page cache, request metrics, the worker's wake-up after a
# request, and links (which stay on the onion address for a request that came there).
REQUEST_MODULES = {
    "views", "staff_views", "pages", "access", "i18n", "security", "render", "transactions",
    "crossorigin", "pagecache", "limits", "requestlog", "metrics", "wakeup", "urls", "uploads",
}  # fmt: skip


def _lint(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_the_import_contracts_hold():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout[-3000:]


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("signatures/counts.py", "from campaign.signatures import views", "Services import no"),
        ("signatures/models.py", "from campaign.signatures import forms", "Models import nothing"),
        ("accounts/views.py", "from campaign.packets import views", "another package's views"),
    ],
)
def test_a_forbidden_import_fails_the_lint(tmp_path, module, line, contract):
    skip = shutil.ignore_patterns("__pycache__", "static", "templates")
    shutil.copytree(ROOT / "campaign", tmp_path / "campaign", ignore=skip)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "campaign" / module
    target.write_text(target.read_text() + f"\n{line}  # noqa\n")
    result = _lint(tmp_path)
    assert result.returncode == 1
    assert contract in result.stdout
    assert "BROKEN" in result.stdout


def _imports_from_flask(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "flask":
            names |= {alias.name for alias in node.names}
    return names


def test_services_neither_read_the_request_nor_render_templates():
    offenders = []
    for path in sorted((ROOT / "campaign").rglob("*.py")):
        if path.stem in REQUEST_MODULES or path == ROOT / "campaign" / "__init__.py":
            continue
        used = _imports_from_flask(path) & {"request", "render_template", "session", "g"}
        if used:
            offenders.append(f"{path.relative_to(ROOT)}: {sorted(used)}")
    assert offenders == []
