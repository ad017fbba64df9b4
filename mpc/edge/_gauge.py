"""The delayed coat-weight gauge's filter of the slurry's solids: plain numpy, the same on the edge.

Used by the NMPC's estimator (:class:`controllers.nmpc.DisturbanceEKF` learns the dryer, this filter the
slurry from the scanning gauge, which reads web coated ``coater_to_gauge_m`` ago).
"""

from __future__ import annotations

from collections import deque

import numpy as np

__all__ = ["GaugeBiasFilter"]


class GaugeBiasFilter:
    """Random-walk offset of the slurry solids from the delayed coat-weight gauge.

    A reading more than ``gate_sigma`` standard deviations from its prediction is
    a gross error (a bad scan) and is rejected, unless ``shift_after`` such
    rejections in a row all say the same thing (the same sign): then it is a real,
    persistent shift (an unannounced lot change), the variance is raised to the
    size of that shift and the reading is used. A spike is one rejected scan; a
    step is rejected at most ``shift_after - 1`` times.

    A smaller persistent shift passes the gate but would be learnt only at the
    random walk's slow pace; a two-sided CUSUM of the normalised innovations
    (Page 1954; reference ``cusum_k``, threshold ``cusum_h`` standard
    deviations) detects it, and the variance is raised the same way.
    """

    def __init__(self, gauge_m: float, *, q_per_s: float = (1.7e-5) ** 2, r: float = (0.005) ** 2,
                 p0: float = (0.005) ** 2, gate_sigma: float = 6.0, shift_after: int = 3,
                 cusum_k: float = 0.5, cusum_h: float = 10.0) -> None:
        self.gauge_m = gauge_m
        self.q = q_per_s
        self.r_rel = r
        self.b = 0.0
        self.var = p0
        self.version = 0.0
        self.gate_sigma = gate_sigma
        self.rejected = 0
        self.shift_after = int(shift_after)
        self.shifts = 0
        """Persistent shifts accepted (after ``shift_after`` consistent rejections)."""
        self._run: list[float] = []  # the solids offsets that the rejected readings in a row imply
        self.cusum_k, self.cusum_h = float(cusum_k), float(cusum_h)
        self._cusum = [0.0, 0.0]  # upper and lower CUSUM of the normalised innovations
        self._recent: deque[float] = deque(maxlen=5)  # the offsets the latest accepted readings imply
        self._skip_until_m = -np.inf
        self._pending: list[tuple[float, float]] = []
        self._hist: deque[tuple[float, float, float, float]] = deque()

    def skip_web(self, until_position_m: float) -> None:
        """Ignore readings of web coated before ``until_position_m`` (a restart's settling web).

        At a restart the pump and the speed ramp do not match, and the standing line's
        web is not what the model predicted either: those readings would only teach
        the filter a false solids offset.
        """
        self._skip_until_m = max(self._skip_until_m, until_position_m)

    def record(self, position_m: float, cw_pred: float, sens: float) -> None:
        """Remember the model's die coat weight for the web at ``position_m`` and its d/d(solids)."""
        if self._hist and position_m <= self._hist[-1][0]:
            return
        self._hist.append((position_m, cw_pred, sens, self.b))
        while len(self._hist) > 2 and self._hist[1][0] < position_m - self.gauge_m - 50.0:
            self._hist.popleft()

    def time_update(self, dt_s: float) -> None:
        self.var += self.q * dt_s

    def inflate(self, var: float, at_position_m: float | None = None) -> None:
        """More uncertainty (an announced batch change).

        With ``at_position_m`` (the web position at the die when the new batch arrives) the
        variance is raised when the gauge starts reading that web, not at once: the readings of
        the old batch's web still on the way to the gauge would otherwise spend it before the
        first reading of the new batch.
        """
        if at_position_m is None:
            self.var = max(self.var, var)
        else:
            self._pending.append((at_position_m, var))

    def update(self, position_m: float, measured: float) -> None:
        """A gauge reading of the web that passed the die at ``position_m - gauge_m``."""
        target = position_m - self.gauge_m
        for item in [p for p in self._pending if target >= p[0]]:
            self.var = max(self.var, item[1])
            self._pending.remove(item)
        if len(self._hist) < 2 or target < self._hist[0][0] or target < self._skip_until_m:
            return
        pos = np.array([h[0] for h in self._hist])
        k = int(np.searchsorted(pos, target))
        k = min(max(k, 1), len(pos) - 1)
        p0, c0, s0, b0 = self._hist[k - 1]
        p1, c1, s1, b1 = self._hist[k]
        w = 0.0 if p1 == p0 else (target - p0) / (p1 - p0)
        cw_then = c0 + w * (c1 - c0)
        sens = s0 + w * (s1 - s0)
        b_then = b0 + w * (b1 - b0)
        pred = cw_then + sens * (self.b - b_then)
        r = self.r_rel * measured**2
        innov_var = sens**2 * self.var + r
        if (measured - pred) ** 2 > self.gate_sigma**2 * innov_var:
            # a gross error (a bad scan, web the model never saw) ... or a real step, if it persists
            implied = (measured - pred) / sens if sens != 0.0 else 0.0
            if self._run and np.sign(implied) != np.sign(self._run[-1]):
                self._run = []
            self._run.append(implied)
            if len(self._run) < self.shift_after:
                self.rejected += 1
                return
            # a persistent shift: as uncertain as the shift is large, then learn it from this reading
            self._shift(float(np.mean(self._run)))
            innov_var = sens**2 * self.var + r
        else:
            self._run = []
            z = (measured - pred) / np.sqrt(innov_var)
            self._recent.append((measured - pred) / sens if sens != 0.0 else 0.0)
            self._cusum = [max(0.0, self._cusum[0] + z - self.cusum_k), min(0.0, self._cusum[1] + z + self.cusum_k)]
            if max(self._cusum[0], -self._cusum[1]) > self.cusum_h:
                self._shift(float(np.mean(self._recent)))
                innov_var = sens**2 * self.var + r
        gain = self.var * sens / innov_var
        self.b += gain * (measured - pred)
        self.var *= 1.0 - gain * sens

    def _shift(self, offset: float) -> None:
        """A persistent shift of about ``offset`` (solids fraction): as uncertain as it is large."""
        self.shifts += 1
        self.var = max(self.var, offset**2)
        self._run = []
        self._recent.clear()
        self._cusum = [0.0, 0.0]
