"""The identified line model the lmpc runs on: a scaled, discrete LTI model and its provenance.

The model lives in a JSON file written by ``calmline lmpc identify`` (see
:mod:`controllers.lmpc._identify`) so that a line's step-test campaign is
done once and reviewed before the controller uses it.

In scaled deviation variables (``u_s = (u - u0) / u_scale``,
``y_s = (y - y0) / y_scale``)::

    x[k+1] = A x[k] + B u_s[k],    y_s[k] = C x[k]

with sample time ``dt_s``. ``blocks`` records how it was assembled (one
identified sub-model per output group, stacked block-diagonally).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mpc.errors import CalmlineError

__all__ = ["RATIO_SETPOINT", "LineModelFile", "load_model_file"]

FORMAT = "calmline-lmpc-model/1"

RATIO_SETPOINT = "pump_ratio_setpoint_m3_m"
"""The pump ratio station's set point (m3 of slurry per m of web), the lmpc's coat-weight input."""


@dataclass(frozen=True)
class LineModelFile:
    """An identified, scaled line model (see the module docstring).

    Attributes
    ----------
    A, B, C : numpy.ndarray
        ``(n, n)``, ``(n, m)``, ``(p, n)`` in scaled deviation variables.
    dt_s : float
        Sample time, s.
    input_names, output_names : tuple of str
        Plant input names (``speed_m_s`` ...) and measurement names
        (``coat_weight_kg_m2``, ``zone1_lel_frac`` ...), SI units.
    u0, u_scale, y0, y_scale : numpy.ndarray
        Operating point and scales of the step test.
    y_noise : numpy.ndarray
        Noise standard deviation of each output's block means in the step
        test (``std(diff(y)) / sqrt(2)``), in the output's units; the Kalman
        filter's measurement noise.
    preset : str
        Plant preset the model was identified on.
    fit_percent : dict
        Free-run validation fit per output (validation rows of the test).
    blocks : list of dict
        Sub-models: outputs, inputs, method, order, state slice.
    provenance : dict
        Scenario, schedule settings, seeds, date, package versions.
    """

    A: np.ndarray
    B: np.ndarray
    C: np.ndarray
    dt_s: float
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]
    u0: np.ndarray
    u_scale: np.ndarray
    y0: np.ndarray
    y_scale: np.ndarray
    y_noise: np.ndarray
    preset: str
    fit_percent: dict[str, float] = field(default_factory=dict)
    blocks: list[dict[str, Any]] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def n_states(self) -> int:
        """State dimension."""
        return int(self.A.shape[0])

    @property
    def pump_per_speed(self) -> float:
        """The step test's mean pump-to-speed ratio, m3 per m (the ratio station's set point)."""
        return float(self.u0[list(self.input_names).index(RATIO_SETPOINT)])

    def steady_gain(self) -> np.ndarray:
        """Scaled steady-state gain ``C (I - A)^-1 B``."""
        n = self.n_states
        return self.C @ np.linalg.solve(np.eye(n) - self.A, self.B)

    def save(self, path: str | Path, *, force: bool = False, inputs: Iterable[str | Path | None] = ()) -> Path:
        """Write the JSON file under the rules of :mod:`mpc.outputs`.

        A new file, or with ``force`` a file calmline wrote (listed, unedited,
        in the ``.calmline-manifest.json`` beside it); never one of ``inputs``.

        Raises
        ------
        OutputExistsError
            Naming the file, when it may not be written.
        """
        from mpc.outputs import OutputFile

        d = asdict(self)
        for k in ("A", "B", "C", "u0", "u_scale", "y0", "y_scale", "y_noise"):
            d[k] = np.asarray(d[k]).tolist()
        d["format"] = FORMAT
        return OutputFile(path, force=force, inputs=inputs).write_text(json.dumps(d, indent=1))


def _matrix(d: dict[str, Any], key: str, shape: tuple[int | None, int | None], src: str) -> np.ndarray:
    try:
        a = np.asarray(d[key], float)
    except KeyError:
        raise CalmlineError(f"{src}: field {key!r} is missing") from None
    except (TypeError, ValueError):
        raise CalmlineError(f"{src}: field {key!r} is not a numeric array") from None
    want = tuple(s for s in shape)
    if a.ndim != len(want) or any(w is not None and w != s for w, s in zip(want, a.shape, strict=True)):
        raise CalmlineError(f"{src}: field {key!r} has shape {a.shape}, expected {want} (None = any)")
    if not np.all(np.isfinite(a)):
        raise CalmlineError(f"{src}: field {key!r} has non-finite entries")
    return a


def load_model_file(path: str | Path) -> LineModelFile:
    """Read and check a model file written by ``calmline lmpc identify``.

    Raises
    ------
    ValueError
        Naming the file and the field when it is missing, malformed or inconsistent.
    """
    p = Path(path)
    src = str(p)
    if not p.is_file():
        raise CalmlineError(f"lmpc model file {src!r} not found (make one with: calmline lmpc identify SCENARIO --out FILE)")
    try:
        d = json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise CalmlineError(f"{src}: not valid JSON ({exc})") from None
    if d.get("format") != FORMAT:
        raise CalmlineError(f"{src}: field 'format' = {d.get('format')!r}, expected {FORMAT!r}")
    A = _matrix(d, "A", (None, None), src)
    n = A.shape[0]
    if A.shape != (n, n):
        raise CalmlineError(f"{src}: field 'A' has shape {A.shape}, expected square")
    ins = tuple(d.get("input_names", ()))
    outs = tuple(d.get("output_names", ()))
    if not ins or not outs:
        raise CalmlineError(f"{src}: fields 'input_names' and 'output_names' must be non-empty lists")
    m, q = len(ins), len(outs)
    return LineModelFile(
        A=A,
        B=_matrix(d, "B", (n, m), src),
        C=_matrix(d, "C", (q, n), src),
        dt_s=float(d.get("dt_s", 0.0)) or _bad(src, "dt_s", d.get("dt_s"), "a positive number of seconds"),
        input_names=ins,
        output_names=outs,
        u0=_matrix(d, "u0", (m,), src),
        u_scale=_positive(_matrix(d, "u_scale", (m,), src), src, "u_scale"),
        y0=_matrix(d, "y0", (q,), src),
        y_scale=_positive(_matrix(d, "y_scale", (q,), src), src, "y_scale"),
        y_noise=_positive(_matrix(d, "y_noise", (q,), src), src, "y_noise"),
        preset=str(d.get("preset", "")),
        fit_percent={str(k): float(v) for k, v in d.get("fit_percent", {}).items() if v is not None},
        blocks=list(d.get("blocks", [])),
        provenance=dict(d.get("provenance", {})),
    )


def _bad(src: str, key: str, value: Any, expected: str) -> float:
    raise CalmlineError(f"{src}: field {key!r} = {value!r}, expected {expected}")


def _positive(a: np.ndarray, src: str, key: str) -> np.ndarray:
    if np.any(a <= 0):
        raise CalmlineError(f"{src}: field {key!r} has non-positive entries, expected scales > 0")
    return a
