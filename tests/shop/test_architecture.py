"""The folders show the architecture, and a test keeps them honest: one direction of dependency
(web -> orders -> gateways -> SDKs; reports read the models), no import cycle between the shop's
modules, no SDK in the order service, and no gateway named outside its adapter."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from shop.gateways import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
SHOP = ROOT / "shop"
SDKS = ("sparkpay", "examplepay")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> Iterator[str]:
    """The modules ``path`` imports, relative imports resolved (``from . import x`` names x)."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            submodules = [f"{base}.{alias.name}" for alias in node.names]
            yield from submodules
            if not any(name in MODULES for name in submodules):
                yield base  # names taken from the module itself


MODULES = {module_name(path): path for path in SHOP.rglob("*.py")}
GRAPH = {
    name: {imported for imported in imports_of(path) if imported in MODULES and imported != name}
    for name, path in MODULES.items()
}


def reaches(start: str, goal: str) -> bool:
    seen: set[str] = set()
    todo = [start]
    while todo:
        current = todo.pop()
        for following in GRAPH[current] - seen:
            if following == goal:
                return True
            seen.add(following)
            todo.append(following)
    return False


def test_no_module_of_the_shop_imports_itself_back() -> None:
    cycles = [name for name in MODULES if reaches(name, name)]
    assert cycles == []


def test_dependencies_point_one_way() -> None:
    forbidden = {
        "shop.orders": ("shop.web", "shop.reports"),
        "shop.gateways": ("shop.orders", "shop.web", "shop.reports"),
        "shop.reports": ("shop.web", "shop.orders", "shop.gateways"),
        "shop.models": ("shop.orders", "shop.gateways", "shop.web", "shop.reports"),
        "shop.vocabulary": ("shop.orders", "shop.gateways", "shop.web", "shop.reports", "shop.models"),
    }
    wrong = [
        f"{name} imports {imported}"
        for name, imported_modules in GRAPH.items()
        for layer, below in forbidden.items()
        if name == layer or name.startswith(layer + ".")
        for imported in imported_modules
        if imported.startswith(below)
    ]
    assert wrong == []


def test_the_order_service_sees_no_sdk_and_no_request() -> None:
    for name, path in MODULES.items():
        if name.startswith("shop.orders"):
            imported = set(imports_of(path))
            assert not {i for i in imported if i.split(".")[0] in SDKS}, f"{name} imports an SDK"
            assert "flask.request" not in imported, f"{name} reads the request"


def test_the_sdks_stand_alone() -> None:
    """Each SDK imports neither the shop nor the other SDK; what they share (``gatewaykit``)
    imports none of them, and only a sandbox's guard imports Flask."""
    for package in (*SDKS, "gatewaykit"):
        for path in (ROOT / package).rglob("*.py"):
            roots = {name.split(".")[0] for name in imports_of(path)}
            others = {"shop", *SDKS} - {package}
            assert not roots & others, f"{path.relative_to(ROOT)} imports {sorted(roots & others)}"
            if "sandbox" not in path.parts and path.name != "sandbox_guard.py":
                assert "flask" not in roots, f"{path.relative_to(ROOT)} imports Flask"


def test_no_gateway_is_named_outside_its_adapter() -> None:
    names = "|".join(REGISTRY)
    compared = re.compile(rf"""(==|!=|\bin\b)\s*\(?\s*["']({names})["']|["']({names})["']\s*(==|!=)""")
    for name, path in MODULES.items():
        if name.startswith("shop.gateways") or name == "shop.config":
            continue
        assert not compared.search(path.read_text()), f"{name} compares a gateway's name"
    for template in (ROOT / "templates").rglob("*.html"):
        if "gateways" in template.relative_to(ROOT / "templates").parts:
            continue
        text = template.read_text()
        assert not re.search(r"gateway\s*(==|!=)", text), template
        assert not re.search(rf"""["']({names})["']""", text), f"{template} names a gateway"


def test_every_registered_gateway_has_its_templates() -> None:
    for name in REGISTRY:
        for partial in ("_form_fields", "_order_fields", "_payment_details", "_paid_via", "_pay_hint"):
            assert (ROOT / "templates" / "gateways" / name / f"{partial}.html").is_file(), (name, partial)
