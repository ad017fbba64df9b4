"""Charts drawn once per test session: for tests of file handling and exit codes, not of plotting."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import mpc.report._compare as report_compare
import mpc.report._run as report_run

_DRAWN: dict[str, Any] = {}


def _once(fn: Callable[..., Any]) -> Callable[..., Any]:
    def draw(*args: Any, **kw: Any) -> Any:
        if fn.__name__ not in _DRAWN:
            _DRAWN[fn.__name__] = fn(*args, **kw)
        return _DRAWN[fn.__name__]

    return draw


def draw_charts_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run and comparison reports reuse the first charts drawn (the files are still written)."""
    monkeypatch.setattr(report_run, "render_run_charts", _once(report_run.render_run_charts))
    monkeypatch.setattr(report_compare, "overlay_charts", _once(report_compare.overlay_charts))
