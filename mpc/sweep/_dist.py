"""The distributions a sweep draws a scenario's settings from: ``--vary NAME=DIST``."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from mpc.errors import CalmlineError

__all__ = ["DIST_KINDS", "Dist", "SweepError", "parse_dist", "parse_vary"]

DIST_KINDS = ("normal", "uniform", "integer", "choice")
"""``normal(mu, sd)``, ``uniform(a, b)``, ``integer(a, b)`` (a to b inclusive), ``choice(x, y, ...)``."""


class SweepError(CalmlineError):
    """A sweep's option, variation or output folder is wrong."""


@dataclass(frozen=True)
class Dist:
    """One distribution.

    Attributes
    ----------
    kind : str
        One of :data:`DIST_KINDS`.
    args : tuple
        Its parameters (numbers; for ``choice`` numbers or words).
    text : str
        As the user wrote it.
    """

    kind: str
    args: tuple[Any, ...]
    text: str

    def sample(self, rng: np.random.Generator) -> Any:
        """One value."""
        if self.kind == "normal":
            return float(rng.normal(self.args[0], self.args[1]))
        if self.kind == "uniform":
            return float(rng.uniform(self.args[0], self.args[1]))
        if self.kind == "integer":
            return int(rng.integers(self.args[0], self.args[1] + 1))
        return self.args[int(rng.integers(len(self.args)))]


def _value(tok: str) -> Any:
    tok = tok.strip()
    if tok.lower() in ("true", "false"):
        return tok.lower() == "true"
    try:
        v = float(tok)
    except ValueError:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-]*", tok):
            raise ValueError(tok) from None
        return tok
    return int(v) if v.is_integer() and "." not in tok and "e" not in tok.lower() else v


def parse_dist(text: str, *, where: str = "--vary") -> Dist:
    """Parse ``normal(mu,sd)``, ``uniform(a,b)``, ``integer(a,b)`` or ``choice(x,y,...)``."""
    m = re.fullmatch(r"\s*([a-z]+)\s*\((.*)\)\s*", text)
    expected = "expected normal(mu,sd), uniform(a,b), integer(a,b) or choice(x,y,...)"
    if m is None or m.group(1) not in DIST_KINDS:
        raise SweepError(f"{where}: {text!r}: {expected}")
    kind, body = m.group(1), m.group(2)
    try:
        args = tuple(_value(t) for t in body.split(",")) if body.strip() else ()
    except ValueError as exc:
        raise SweepError(f"{where}: {text!r}: {exc.args[0]!r} is neither a number nor a plain word") from None
    if kind == "choice":
        if not args:
            raise SweepError(f"{where}: {text!r}: choice needs at least one value")
        return Dist(kind, args, text.strip())
    if len(args) != 2 or not all(isinstance(a, int | float) and not isinstance(a, bool) for a in args):
        raise SweepError(f"{where}: {text!r}: {kind} takes two numbers")
    a, b = float(args[0]), float(args[1])
    if not (math.isfinite(a) and math.isfinite(b)):
        raise SweepError(f"{where}: {text!r}: expected finite numbers")
    if kind == "normal" and not b > 0.0:
        raise SweepError(f"{where}: {text!r}: the standard deviation must be > 0")
    if kind in ("uniform", "integer") and not a < b:
        raise SweepError(f"{where}: {text!r}: expected a < b")
    if kind == "integer":
        if not (a.is_integer() and b.is_integer()):
            raise SweepError(f"{where}: {text!r}: integer takes two whole numbers")
        return Dist(kind, (int(a), int(b)), text.strip())
    return Dist(kind, (a, b), text.strip())


def parse_vary(items: list[str] | tuple[str, ...]) -> dict[str, Dist]:
    """``["NAME=DIST", ...]`` to ``{NAME: Dist}``; a name twice is an error."""
    out: dict[str, Dist] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise SweepError(f"--vary {item!r}: expected NAME=DIST, as disturbances.slurry.solids_frac=normal(0.7,0.01)")
        if name in out:
            raise SweepError(f"--vary {name}: given twice")
        out[name] = parse_dist(text, where=f"--vary {name}")
    return out
