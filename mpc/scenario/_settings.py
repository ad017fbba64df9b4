"""One mechanism for every controller's settings: typed, ranged, documented, checked once.

A controller's settings are a frozen dataclass deriving from :class:`Settings`.
Each field has a type (``float``, ``int``, ``str``, ``bool``, or another
settings class: a sub-table), a default and an allowed range given by
:func:`setting`, and its docstring: the string literal written after the field
(read by :func:`field_docs`, shown in ``docs/controllers.md``).

:meth:`Settings.from_mapping` builds the settings from a scenario's TOML table
(``[controllers.pid]``, ``[controllers.nmpc.ocp]``) and refuses, naming the
file, the table, the key, the value and what is allowed:

* a key the class does not have (the message lists the known keys, or says in
  which table the key belongs when it is a setting of another table);
* a wrong type: a bool is not a number, an int is fine for a float, a float is
  not an int, a table is not a value and a value is not a table;
* NaN, and an infinite value where the range does not admit it;
* a value out of its range.

Settings built in Python (``OcpSettings(config="fast")``) are checked the same
way when they are constructed.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import math
import textwrap
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any, Self

from mpc.errors import CalmlineError

__all__ = [
    "Bounds",
    "SettingRow",
    "Settings",
    "SettingsError",
    "field_docs",
    "setting",
    "settings_rows",
    "settings_tables",
]

class SettingsError(CalmlineError):
    """A controller setting that does not exist, has the wrong type or is out of its range."""


@dataclass(frozen=True)
class Bounds:
    """The allowed values of one setting: an interval of numbers, or a set of words."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    allow_inf: bool = False
    """Whether ``inf`` is allowed (a switch-off value); NaN never is."""
    choices: tuple[str, ...] = ()

    def admits(self, value: Any) -> bool:
        """Whether ``value`` (already of the field's type) lies in the range."""
        if self.choices:
            return value in self.choices
        if isinstance(value, bool) or not isinstance(value, int | float):
            return True
        if math.isnan(value) or (math.isinf(value) and not self.allow_inf):
            return False
        return ((self.ge is None or value >= self.ge) and (self.gt is None or value > self.gt)
                and (self.le is None or value <= self.le) and (self.lt is None or value < self.lt))

    def words(self) -> str:
        """The range inside a sentence: ``in (0, 1]``, ``>= 0``, ``one of 'a', 'b'``; empty when unbounded."""
        text = self.text()
        return f"in {text}" if text[:1] in ("(", "[") else text

    def text(self) -> str:
        """The range as the docs show it: ``(0, 1]``, ``>= 0``, ``> 0 or inf``, ``one of 'a', 'b'``; empty when unbounded."""
        if self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        lo = f"[{self.ge:g}" if self.ge is not None else f"({self.gt:g}" if self.gt is not None else ""
        hi = f"{self.le:g}]" if self.le is not None else f"{self.lt:g})" if self.lt is not None else ""
        inf = " or inf" if self.allow_inf else ""
        if lo and hi:
            return f"{lo}, {hi}{inf}"
        if lo:
            return (">= " if lo[0] == "[" else "> ") + lo[1:] + inf
        if hi:
            return ("<= " if hi[-1] == "]" else "< ") + hi[:-1] + inf
        return "inf allowed" if inf else ""


def setting(default: Any, *, ge: float | None = None, gt: float | None = None, le: float | None = None,
            lt: float | None = None, allow_inf: bool = False, choices: tuple[str, ...] = ()) -> Any:
    """A settings field: its default and allowed range (the type is the field's annotation)."""
    return field(default=default, metadata={"bounds": Bounds(ge, gt, le, lt, allow_inf, tuple(choices))})


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _is_table(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, Settings)


@cache
def field_docs(cls: type) -> dict[str, str]:
    """Each field's docstring (the string literal after it in the class body), whitespace folded."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs: dict[str, str] = {}
    for node, nxt in zip(body, [*body[1:], None], strict=True):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            text = ""
            if isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant) and isinstance(nxt.value.value, str):
                text = " ".join(nxt.value.value.split())
            docs[node.target.id] = text
    return docs


def _optional(tp: Any) -> tuple[Any, bool]:
    """``(T, True)`` for ``T | None``, else ``(tp, False)``."""
    args = typing.get_args(tp)
    if type(None) in args:
        (rest,) = [a for a in args if a is not type(None)]
        return rest, True
    return tp, False


def _type_text(tp: Any) -> str:
    """A field type as the docs show it: ``float``, ``int``, ``str``, ``bool``, ``float, optional``, ``table``."""
    tp, optional = _optional(tp)
    if _is_table(tp):
        return "table"
    return tp.__name__ + (", optional" if optional else "")


class Settings:
    """Base of every controller's settings (a frozen dataclass); see the module docstring.

    Subclasses are ``@dataclass(frozen=True)`` classes whose fields are declared
    with :func:`setting`, or ``field(default_factory=OtherSettings)`` for a sub-table.
    """

    def __post_init__(self) -> None:
        name = type(self).__name__
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            checked = _check_value(type(self), f.name, value, f"{name}.{f.name}")
            if checked is not value:
                object.__setattr__(self, f.name, checked)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], *, where: str = "", source: str = "<scenario>",
                     base: Self | None = None) -> Self:
        """Settings from a scenario table; every key checked (see the module docstring).

        Parameters
        ----------
        values : mapping
            The table's keys and values (sub-tables as nested mappings).
        where : str
            The table, as the file spells it (``"[controllers.pid]"``).
        source : str
            The scenario file, named first in every message.
        base : Settings, optional
            The values the table's keys change (default: the class defaults).

        Raises
        ------
        SettingsError
            An unknown key, a wrong type, a non-finite or out-of-range value.
        """
        w = where or f"[{cls.__name__}]"
        return _build(cls, values, w, source, base, cls, w)


def _check_value(cls: type, key: str, value: Any, what: str) -> Any:
    """``value`` for field ``key`` of ``cls``, coerced (an int for a float); raises naming ``what``."""
    tp, optional = _optional(_hints(cls)[key])
    if optional and value is None:
        return value
    if _is_table(tp):
        if not isinstance(value, tp):
            raise SettingsError(f"{what} = {value!r}: expected a table of {tp.__name__} settings")
        return value
    f = next(f for f in fields(cls) if f.name == key)
    bounds: Bounds = f.metadata.get("bounds", Bounds())
    words = f" {bounds.words()}" if bounds.words() else ""
    given = value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SettingsError(f"{what} = {value!r}: expected a number{words}")
        value = float(value)
        if math.isnan(value) or (math.isinf(value) and not bounds.allow_inf):
            raise SettingsError(f"{what} = {given!r}: expected a finite number{words}")
    elif tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SettingsError(f"{what} = {value!r}: expected an integer{words}")
    elif tp is bool:
        if not isinstance(value, bool):
            raise SettingsError(f"{what} = {value!r}: expected true or false")
    elif tp is str:
        if not isinstance(value, str):
            raise SettingsError(f"{what} = {value!r}: expected a string{words}")
    else:  # pragma: no cover - a settings class with a field type the mechanism does not know
        raise TypeError(f"{cls.__name__}.{key}: unsupported settings type {tp!r}")
    if not bounds.admits(value):
        raise SettingsError(f"{what} = {given!r}: expected {'' if bounds.choices else 'a value '}{bounds.words()}")
    return value


def _sub(where: str, key: str) -> str:
    """The name of sub-table ``key`` of table ``where``: ``[controllers.nmpc]`` -> ``[controllers.nmpc.ocp]``."""
    return f"{where[:-1]}.{key}]" if where.endswith("]") else f"{where}.{key}"


def settings_tables(cls: type[Settings], where: str) -> list[tuple[str, type[Settings]]]:
    """``cls``'s table (named ``where``) and every sub-table under it, as a file names them."""
    out = [(where, cls)]
    for f in fields(cls):  # type: ignore[arg-type]
        tp = _hints(cls)[f.name]
        if _is_table(tp):
            out += settings_tables(tp, _sub(where, f.name))
    return out


@dataclass(frozen=True)
class SettingRow:
    """One setting as the docs show it (``default`` is empty for a sub-table or an optional setting not given)."""

    name: str
    type: str
    default: str
    allowed: str
    meaning: str


def settings_rows(cls: type[Settings]) -> list[SettingRow]:
    """Every field of ``cls`` (sub-tables included, as type ``table``): type, default, range, docstring."""
    docs = field_docs(cls)
    rows = []
    for f in fields(cls):  # type: ignore[arg-type]
        tp = _hints(cls)[f.name]
        if _is_table(_optional(tp)[0]):
            rows.append(SettingRow(f.name, "table", "", "", docs[f.name]))
            continue
        bounds: Bounds = f.metadata.get("bounds", Bounds())
        default = "" if f.default is None else repr(f.default)
        allowed = bounds.text() if (bounds.choices or _optional(tp)[0] in (float, int)) else ""
        rows.append(SettingRow(f.name, _type_text(tp), default, allowed, docs[f.name]))
    return rows


def _scalar_keys(cls: type[Settings]) -> set[str]:
    return {f.name for f in fields(cls) if not _is_table(_hints(cls)[f.name])}  # type: ignore[arg-type]


def _build(cls: type[Settings], values: Mapping[str, Any], where: str, source: str, base: Settings | None,
           root: type[Settings], root_where: str) -> Any:
    if not isinstance(values, Mapping):
        raise SettingsError(f"{source}: {where} = {values!r}: expected a table")
    known = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            homes = [w for w, c in settings_tables(root, root_where)
                     if w != where and key in _scalar_keys(c)]
            if homes:
                raise SettingsError(f"{source}: {where}: {key!r} is not a setting of this table; "
                                    f"it belongs in {' or '.join(homes)}")
            raise SettingsError(f"{source}: {where}: unknown setting {key!r}; known: {', '.join(known)}")
        tp = _hints(cls)[key]
        if _is_table(tp):
            sub_where = _sub(where, key)
            out[key] = _build(tp, value, sub_where, source, getattr(base, key) if base is not None else None,
                              root, root_where)
        else:
            if isinstance(value, Mapping):
                raise SettingsError(f"{source}: {where} {key}: a table was given; expected a {_type_text(tp)}")
            try:
                out[key] = _check_value(cls, key, value, key)
            except SettingsError as exc:
                raise SettingsError(f"{source}: {where} {exc}") from None
    start = base if base is not None else cls()
    try:
        return dataclasses.replace(start, **out)
    except SettingsError as exc:  # a combination of settings the class refuses (its __post_init__)
        raise SettingsError(f"{source}: {where}: {exc}") from None
