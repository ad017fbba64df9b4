"""Experiment design: generalised binary noise (GBN) test signals on several inputs.

A GBN signal (Tulleken 1990) holds each level for at least ``min_switch_s``
and then switches with probability ``p_switch`` at every further step; with
``p_switch = 0.5`` and ``min_switch_s`` one step it is a random binary
(PRBS-like) sequence. Its power sits at frequencies below about
``1 / (2 min_switch_s)``, so the minimum switching time is chosen from the
process time constants (a third to a half of the dominant one is a common
rule). Channels are independent (separate seeded streams), so their
cross-correlation is low, as MIMO identification needs.

References
----------
.. [T1990] H. J. A. F. Tulleken, "Generalized binary noise test-signal concept
   for improved identification-experiment design", Automatica 26 (1990) 37-49.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mpc.sysid._errors import IdentificationError

__all__ = ["GbnChannel", "gbn_schedule"]


@dataclass(frozen=True)
class GbnChannel:
    """One excited input: its centre value, amplitude (+/-) and hard limits, in its own units."""

    name: str
    center: float
    amplitude: float
    lower: float = -np.inf
    upper: float = np.inf

    def __post_init__(self) -> None:
        if not np.isfinite(self.center) or not np.isfinite(self.amplitude) or self.amplitude <= 0:
            raise IdentificationError(
                f"GBN channel {self.name!r}: center = {self.center!r}, amplitude = {self.amplitude!r}: "
                "expected finite values and a positive amplitude"
            )
        if not self.lower <= self.center <= self.upper:
            raise IdentificationError(
                f"GBN channel {self.name!r}: center {self.center} is outside its limits [{self.lower}, {self.upper}]"
            )


def gbn_schedule(
    channels: list[GbnChannel],
    duration_s: float,
    dt_s: float,
    *,
    min_switch_s: float,
    p_switch: float = 0.5,
    seed: int = 0,
) -> pd.DataFrame:
    """A GBN test schedule: one row per ``dt_s``, column ``time_s`` plus one column per channel.

    Each channel is ``center +/- amplitude`` clipped to its limits. Time is cut
    into clock periods of ``min_switch_s``; at the start of each the level
    switches with probability ``p_switch`` (independently per channel), so
    levels last a whole number of periods, ``min_switch_s / p_switch`` on
    average, and the channels are uncorrelated.
    """
    if not duration_s > 0 or not dt_s > 0 or duration_s < dt_s:
        raise IdentificationError(f"duration_s = {duration_s!r}, dt_s = {dt_s!r}: expected 0 < dt_s <= duration_s")
    if not min_switch_s >= dt_s:
        raise IdentificationError(f"min_switch_s = {min_switch_s!r}: expected at least dt_s = {dt_s}")
    if not 0.0 < p_switch <= 1.0:
        raise IdentificationError(f"p_switch = {p_switch!r}: expected (0, 1]")
    if not channels:
        raise IdentificationError("no input channels to excite")
    n = round(duration_s / dt_s)
    hold = max(1, round(min_switch_s / dt_s))
    streams = np.random.SeedSequence(seed).spawn(len(channels))
    data = {"time_s": np.arange(n) * dt_s}
    for ch, ss in zip(channels, streams, strict=True):
        rng = np.random.default_rng(ss)
        level = 1.0 if rng.random() < 0.5 else -1.0
        since = 0
        sig = np.empty(n)
        for k in range(n):
            # one switching decision per clock period of ``hold`` samples (Tulleken 1990):
            # levels last hold, 2 hold, 3 hold ... with mean hold / p_switch
            if since >= hold:
                if rng.random() < p_switch:
                    level = -level
                since = 0
            sig[k] = level
            since += 1
        data[ch.name] = np.clip(ch.center + ch.amplitude * sig, ch.lower, ch.upper)
    return pd.DataFrame(data)
