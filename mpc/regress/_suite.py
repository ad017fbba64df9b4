"""The regression-suite file (TOML), validated with pydantic (unknown keys are errors).

::

    description = "..."
    golden_dir = "golden"                      # relative to the suite file

    [tolerances]                               # every compared KPI, for every case
    coat_weight_cpk = { direction = "higher", abs = 0.05, rel = 0.05 }
    time_above_lel_limit_s = { direction = "zero" }

    [[cases]]
    name = "greensboro_july_nmc_pid"
    log = "../data/logs/greensboro_july_nmc.csv"
    mapping = ""                               # '' = the default mapping
    base = "../nmc_nmp_nominal.toml"
    controller = "pid"
    window_s = 5400.0
    [cases.tolerances]                         # optional per-case overrides
    scrap_m = { abs = 10.0 }

Paths are relative to the suite file. A KPI's direction is the one of
:data:`mpc.kpis.KPI_DIRECTIONS` (writing it is optional and must agree);
KPIs that are not figures of merit and the step-time KPIs (machine noise)
cannot be compared.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mpc.errors import CalmlineError
from mpc.kpis import KPI_DIRECTIONS

__all__ = ["Case", "RegressionSuiteError", "Suite", "Tolerance", "default_suite_path", "load_suite"]

def default_suite_path() -> Path:
    """The shipped ``scenarios/regression/suite.toml``."""
    from scenarios import shipped_path

    return shipped_path("regression/suite.toml")


class RegressionSuiteError(CalmlineError):
    """The suite file, a case or a golden file is missing or invalid."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Tolerance(_Model):
    """How far a KPI may move in its worse direction before it counts as a regression."""

    direction: Literal["higher", "lower", "zero"] | None = Field(
        None, description="which way is better (default and only allowed value: mpc.kpis.KPI_DIRECTIONS)"
    )
    abs: float = Field(0.0, ge=0.0, description="absolute tolerance, in the KPI's unit")
    rel: float = Field(0.0, ge=0.0, description="relative tolerance, fraction of |golden|")

    def band(self, golden: float) -> float:
        """Allowed change: ``max(abs, rel * |golden|)``."""
        return max(self.abs, self.rel * abs(golden))


def _check_tolerances(table: dict[str, Tolerance]) -> dict[str, Tolerance]:
    out = {}
    for key, tol in table.items():
        if key.startswith(("step_time", "solve_time")):
            raise ValueError(f"{key}: step- and solve-time KPIs are machine noise and are never compared")
        if key not in KPI_DIRECTIONS:
            raise ValueError(f"{key}: not a numeric KPI; known: {sorted(KPI_DIRECTIONS)}")
        d = KPI_DIRECTIONS[key]
        if d is None:
            raise ValueError(f"{key}: not a figure of merit (mpc.kpis.KPI_DIRECTIONS gives it no direction)")
        if tol.direction is not None and tol.direction != d:
            raise ValueError(f"{key}.direction = {tol.direction!r}, but mpc.kpis.KPI_DIRECTIONS says {d!r}")
        out[key] = tol.model_copy(update={"direction": d})
    return out


class Case(_Model):
    """One replay: a log (or its window), a base scenario and a controller."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="unique; names the golden file <name>.json")
    description: str = ""
    log: str = Field(min_length=1, description="plant log, relative to the suite file")
    mapping: str = Field("", description="column mapping, relative to the suite file ('' = default)")
    base: str = Field(min_length=1, description="base scenario, relative to the suite file")
    controller: str = Field(min_length=1, description="controller name (recipe, pid, ...)")
    start_s: float = Field(0.0, ge=0.0, description="start of the replayed window in the log, s")
    window_s: float | None = Field(None, gt=0.0, description="length of the replayed window, s (None: to the end)")
    tolerances: dict[str, Tolerance] = Field(default_factory=dict, description="per-case overrides")

    @field_validator("tolerances")
    @classmethod
    def _tolerances(cls, v: dict[str, Tolerance]) -> dict[str, Tolerance]:
        return _check_tolerances(v)


class Suite(_Model):
    """The regression suite: tolerances and cases."""

    description: str = ""
    golden_dir: str = Field("golden", description="folder of the golden KPI files, relative to the suite file")
    tolerances: dict[str, Tolerance] = Field(description="compared KPIs and their tolerances")
    cases: list[Case] = Field(min_length=1)
    path: Path = Field(Path("."), description="the suite file (set by load_suite)")

    @field_validator("tolerances")
    @classmethod
    def _tolerances(cls, v: dict[str, Tolerance]) -> dict[str, Tolerance]:
        if not v:
            raise ValueError("[tolerances] lists no KPI")
        return _check_tolerances(v)

    @model_validator(mode="after")
    def _check(self) -> Suite:
        names = [c.name for c in self.cases]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"duplicate case name(s) {dup}")
        return self

    @property
    def folder(self) -> Path:
        """Folder the relative paths start from."""
        return self.path.parent

    def resolve(self, rel: str) -> Path:
        """A path of the suite file, made absolute."""
        p = Path(rel)
        return p if p.is_absolute() else (self.folder / p).resolve()

    def golden_path(self, case: Case) -> Path:
        """Golden KPI file of ``case``."""
        return self.resolve(self.golden_dir) / f"{case.name}.json"

    def tolerances_for(self, case: Case) -> dict[str, Tolerance]:
        """The suite's tolerances with the case's overrides."""
        return {**self.tolerances, **case.tolerances}

    def case(self, name: str) -> Case:
        """A case by name."""
        for c in self.cases:
            if c.name == name:
                return c
        raise RegressionSuiteError(f"{self.path}: no case {name!r}; cases: {[c.name for c in self.cases]}")


def _key(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


def load_suite(path: str | Path | None = None) -> Suite:
    """Read and validate a suite file (default :func:`default_suite_path`); check that its files exist.

    Raises
    ------
    RegressionSuiteError
        Missing or invalid file, unknown key, invalid tolerance, missing log,
        mapping or base scenario (the message names the file and the key).
    """
    p = Path(path) if path is not None else default_suite_path()
    if not p.is_file():
        raise RegressionSuiteError(f"regression suite {str(p)!r} not found")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RegressionSuiteError(f"{p}: not valid TOML: {exc}") from None
    if "path" in data:
        raise RegressionSuiteError(f"{p}: unknown key 'path'")
    try:
        suite = Suite.model_validate({**data, "path": p.resolve()})
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = _key(tuple(err["loc"]))
            if err["type"] == "extra_forbidden":
                lines.append(f"{p}: unknown key '{key}'")
            elif err["type"] == "missing":
                lines.append(f"{p}: missing key '{key}'")
            else:
                msg = str(err["msg"]).removeprefix("Value error, ")
                lines.append(f"{p}: '{key}': {msg}" if key else f"{p}: {msg}")
        raise RegressionSuiteError("\n".join(lines)) from None
    for i, c in enumerate(suite.cases):
        for key in ("log", "mapping", "base"):
            rel = getattr(c, key)
            if rel and not suite.resolve(rel).is_file():
                raise RegressionSuiteError(f"{p}: 'cases[{i}].{key}' = {rel!r}: file {suite.resolve(rel)} not found")
    return suite
