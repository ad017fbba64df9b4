"""The plant's disturbances during a replay: the base scenario's, with the log's channels swapped in.

:class:`LogDisturbances` is a :class:`~mpc.scenario.PlantDisturbances` built
from the replay scenario (so process noise, line stops and every channel
the log does not carry come from the base scenario, with its seeds) whose
:meth:`~LogDisturbances.vector` then overwrites the channels the log has:
outdoor temperature and RH, slurry solids, and per-zone heater efficiency
and fan flow factor (a zone's own column first, else the all-zones column).
Controllers never get this object (the harness keeps it to the plant).
"""

from __future__ import annotations

import numpy as np

from mpc.historian._log import HistorianLog
from mpc.scenario import PlantDisturbances, Scenario
from plants.line import LineLayout

__all__ = ["LogDisturbances", "zone_column"]


def zone_column(log: HistorianLog, base: str, zone: int) -> str | None:
    """The SI column of ``log`` that drives ``base`` (e.g. ``"heater_efficiency"``) in ``zone``."""
    own = f"zone{zone}_{base}"
    if log.has(own):
        return own
    return base if log.has(base) else None


class LogDisturbances(PlantDisturbances):
    """Disturbance vector ``d(t)`` of a replay (layout of :class:`plants.line.LineLayout`).

    Parameters
    ----------
    sc : Scenario
        The replay scenario (:func:`mpc.historian.replay_scenario`).
    layout : LineLayout
        The plant's layout.
    base_solids : float
        The preset's nominal solids (used only if the log has none).
    dt_s : float
        Control interval, s (the log's grid step).
    log : HistorianLog
        The resampled log; its grid must be the control interval.
    duration_s : float, optional
        The run's length (default: the replay scenario's, the log's).
    """

    def __init__(
        self, sc: Scenario, layout: LineLayout, base_solids: float, dt_s: float, log: HistorianLog,
        duration_s: float | None = None,
    ) -> None:
        super().__init__(sc, layout, base_solids, dt_s, duration_s)
        self.log = log
        self._t = log.frame.index.to_numpy(dtype=float)
        L = layout
        self._overrides: list[tuple[int, str, np.ndarray]] = []
        for idx, col in ((L.D_OUT_T, "outdoor_temp_K"), (L.D_OUT_RH, "outdoor_rh_frac"),
                         (L.D_SOLIDS, "slurry_solids_frac")):
            if log.has(col):
                self._overrides.append((idx, col, log.frame[col].to_numpy(dtype=float)))
        for base, sl in (("heater_efficiency", L.d_heater_eff), ("fan_flow_factor", L.d_fan_factor)):
            for zone in range(1, L.n_zones + 1):
                col = zone_column(log, base, zone)
                if col is not None:
                    self._overrides.append((sl.start + zone - 1, col, log.frame[col].to_numpy(dtype=float)))
        if log.has("outdoor_temp_K") or log.has("outdoor_rh_frac"):
            self.weather_note = f"historian log {log.source.name} from {log.start_utc.isoformat()}"

    @property
    def log_channels(self) -> list[str]:
        """SI columns of the log that drive the plant, in the order they are applied."""
        return [col for _, col, _ in self._overrides]

    def vector(self, t_s: float) -> np.ndarray:
        """Disturbance vector at ``t_s``: the base scenario's, with the log's channels at ``t_s``."""
        d = super().vector(t_s)
        for idx, _col, values in self._overrides:
            d[idx] = float(np.interp(t_s, self._t, values))
        return d
