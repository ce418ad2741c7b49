"""A template author's mistakes each give one clear SpecError naming the file, the item and the
key, never a KeyError or a TypeError; docs/spec.md describes the schema the loader holds to."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from workbook import specschema
from workbook.spec import SpecError, from_dict, load_path
from workbook.tomlcompat import tomllib

ROOT = Path(__file__).resolve().parents[1]
SPEC_FILE = ROOT / "workbook" / "templates" / "ecommerce-ops-summary.toml"
NAME = SPEC_FILE.name


def _raw() -> dict[str, Any]:
    with SPEC_FILE.open("rb") as fh:
        data: dict[str, Any] = tomllib.load(fh)
    return data


def _item(data: dict[str, Any], table: str, id_: str) -> dict[str, Any]:
    found: dict[str, Any] = next(x for x in data[table] if x.get("id") == id_)
    return found


def _refused(data: dict[str, Any]) -> str:
    with pytest.raises(SpecError) as caught:
        from_dict(data, NAME)
    return str(caught.value)


def _written(tmp_path: Path, old: str, new: str) -> Path:
    """The built-in spec with one line changed, as a company's own template file."""
    text = SPEC_FILE.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path = tmp_path / "company-template.toml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_a_missing_key_names_the_item_and_the_key() -> None:
    data = _raw()
    del _item(data, "fields", "gmv")["type"]
    assert _refused(data) == f"{NAME}: field 'gmv' type: missing, required (a string)"


def test_a_value_of_the_wrong_type_names_the_item_and_the_key() -> None:
    data = _raw()
    _item(data, "fields", "gmv")["max"] = "lots"
    message = _refused(data)
    assert message == f"{NAME}: field 'gmv' max: must be a number, not the string 'lots'"


def test_an_unknown_id_in_an_expression_names_the_kpi_and_its_expression() -> None:
    data = _raw()
    _item(data, "kpis", "conversion_rate")["expr"] = "orders / visitors_typo"
    message = _refused(data)
    assert message.startswith(f"{NAME}: KPI 'conversion_rate' expr: unknown id 'visitors_typo'")


def test_a_section_number_out_of_range_is_refused_from_the_file(tmp_path: Path) -> None:
    section = 'id = "s6"\nkind = "numbered"\nnumber = '
    path = _written(tmp_path, f"{section}6", f"{section}11")
    with pytest.raises(SpecError) as caught:
        load_path(path)
    assert str(caught.value) == (
        "company-template.toml: section 's6' number: 11 is out of range (1 to 10)"
    )


def test_a_duplicate_id_names_both_kinds_of_item() -> None:
    data = _raw()
    data["kpis"].append(dict(_item(data, "kpis", "aov"), id="gmv"))
    assert _refused(data) == f"{NAME}: KPI 'gmv' id: defined twice (also a field)"


def test_a_table_column_of_an_unknown_type_names_the_table_and_the_column() -> None:
    data = _raw()
    table = data["tables"][0]
    table["columns"][2]["type"] = "blob"
    assert re.fullmatch(
        rf"{re.escape(NAME)}: table {table['id']!r} column {table['columns'][2]['id']!r} type: "
        r"unknown type 'blob'; type must be text, count, money, number, percent or date",
        _refused(data),
    )


def test_an_unknown_key_is_a_typo_named_with_its_item() -> None:
    data = _raw()
    _item(data, "fields", "gmv")["polarty"] = "higher_better"
    assert _refused(data).startswith(f"{NAME}: field 'gmv': unknown key 'polarty' (known: id,")


def test_an_unknown_role_target_and_role_are_named() -> None:
    data = _raw()
    data["roles"]["store"] = "shop_name"
    assert _refused(data) == f"{NAME}: roles store: unknown field 'shop_name'"
    data = _raw()
    data["roles"]["boss"] = "author"
    assert _refused(data).startswith(f"{NAME}: roles: unknown key 'boss' (known: author,")


def test_a_default_unit_of_an_unknown_unit_or_format_is_named() -> None:
    data = _raw()
    data["format_units"]["money"] = "dollars"
    assert _refused(data) == f"{NAME}: format_units money: unknown unit 'dollars'"
    data = _raw()
    data["format_units"]["currency"] = "yuan"
    assert _refused(data).startswith(f"{NAME}: format_units: unknown key 'currency'")


def test_a_file_that_is_not_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('id = "x"\nversion = \n', encoding="utf-8")
    with pytest.raises(SpecError, match=r"^broken\.toml: cannot be read as TOML"):
        load_path(path)


# -- the sweep: every key deleted, every value of another type ----------------------------------


def _paths(node: object, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*path, key)
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*path, index))


def _sampled_paths() -> list[tuple[str | int, ...]]:
    """Every key of the real spec, by its place in the schema (indices wildcarded): the first
    and the last occurrence of each, so each table's first and last entries are tried."""
    first: dict[tuple[str | int, ...], tuple[str | int, ...]] = {}
    last: dict[tuple[str | int, ...], tuple[str | int, ...]] = {}
    for path in _paths(_raw()):
        pattern = tuple("*" if isinstance(p, int) else p for p in path)
        first.setdefault(pattern, path)
        last[pattern] = path
    return list(dict.fromkeys([*first.values(), *last.values()]))


OTHER_VALUES: tuple[object, ...] = (12345, "x", True, [], ["x"], {"zh-CN": "x"})
_DELETED = object()


def test_every_key_deleted_or_retyped_gives_a_spec_error_or_a_valid_spec() -> None:
    data = _raw()
    tried = refused = 0
    for path in _sampled_paths():
        parent: Any = data
        for step in path[:-1]:
            parent = parent[step]
        original = parent[path[-1]]
        for value in (_DELETED, *OTHER_VALUES):
            if value is _DELETED:
                del parent[path[-1]]
            else:
                parent[path[-1]] = copy.deepcopy(value)
            tried += 1
            try:
                from_dict(data, NAME)
            except SpecError as exc:
                refused += 1
                assert str(exc).startswith(f"{NAME}: "), (path, value, exc)
            except Exception as exc:  # any other exception is the bug this test looks for
                pytest.fail(f"{path} = {value!r}: {type(exc).__name__}: {exc}")
            finally:
                parent[path[-1]] = original  # loading never changes the data it reads
    assert tried > 1000 and refused > tried * 0.8, (tried, refused)


def test_docs_describe_the_schema_the_loader_holds_to() -> None:
    doc = (ROOT / "docs" / "spec.md").read_text(encoding="utf-8")
    assert specschema.describe() in doc, (
        "run: python -m workbook.specschema and paste it in docs/spec.md"
    )
