"""Settings of the identified-model MPC (``[controllers.lmpc]`` and ``[controllers.lmpc.supervisor]``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from mpc.scenario._controller_settings import SupervisorSettings
from mpc.scenario._settings import Settings, setting

__all__ = ["LmpcSettings"]


@dataclass(frozen=True)
class LmpcSettings(Settings):
    """The lmpc (``[controllers.lmpc]``): model file, horizon, limits, weights and Kalman filter."""

    model_file: str = setting("")
    """Identified model (JSON from ``calmline lmpc identify``); relative paths are taken from the
    scenario file's folder; empty: ``models/lmpc_<preset>.json`` there."""
    n_horizon: int = setting(12, ge=1)
    """Steps of the model's sample time (12 x 20 s = 240 s: gauge dead time plus dryer residence)."""
    lel_margin_target: float = setting(0.8, gt=0.0, le=1.0)
    """Fraction of the LEL limit in force the steady target may use."""
    lel_margin: float = setting(0.8, gt=0.0, le=1.0)
    """Fraction of the LEL limit in force the dynamic plan may use (soft): the target's, no more. A linear
    model's LEL gains far from its test point need the margin (at 0.9 the cathode's analyser failure went 28 s
    above the limit)."""
    humidity_max_kg_kg: float = setting(0.08, gt=0.0, lt=1.0)
    """Highest exhaust humidity ratio for a water dryer (as the NMPC), kg/kg."""
    residual_frac_of_usl_target: float = setting(0.5, gt=0.0, le=1.0)
    """Exit residual of the target, fraction of its USL."""
    residual_frac_of_usl: float = setting(0.8, gt=0.0, le=1.0)
    """Exit residual limit of the dynamic plan, fraction of its USL (soft)."""
    film_margin_K: float = setting(5.0, ge=0.0)
    """Exit film temperature and every zone's air temperature kept this far under the film's maximum, K."""
    trust_rel: float = setting(0.3, gt=0.0, lt=1.0)
    """Exhaust flows stay within +/- this fraction of the step test's operating point: the linear model's
    trust region (LEL goes as one over the exhaust flow)."""
    setpoint_trust_K: float = setting(15.0, gt=0.0)
    """Air-temperature set points stay within +/- this of the step test's operating point (and within the
    PLC's set-point range), K: the linear model's trust region; the step test moves them by a tenth of each
    zone's rise over the outdoor air (3.5-8.5 K on the shipped lines)."""
    setpoint_rate_K_s: float = setting(0.05, gt=0.0)
    """Fastest move of an air-temperature set point, K/s (the PLC's ramp and the heater's rate limit over the
    loop's gain bound it too). From the recipe to its first target the cathode's lmpc ramps zone 1 by about
    14 K and the tight loop overshoots it: at 1 K/s zone 1's LEL peaked at 0.52 against the 0.50 limit on the
    nominal shift (42 s above); at 0.1 K/s at 0.505 on the structural-mismatch scenario (20 s above); at 0.05 K/s
    at 0.470 there (shipped models)."""
    heater_margin_frac: float = setting(0.02, ge=0.0, lt=0.5)
    """The temperature loops' heater powers (outputs of the model) are kept this fraction of the heater's
    maximum inside its range (soft, in the target and the plan): a loop at its limit no longer holds its set
    point, and the linear model does not know it."""
    pump_trim_max: float = setting(0.05, gt=0.0, lt=1.0)
    """The pump stays within +/- this fraction of the lot's pump-to-speed ratio (hard): learned from the gauge
    without the model (the ratio applied one transport time earlier times target over measured coat weight,
    filtered over 300 s, within 0.8-1.25 of the step test's ratio), so the window follows
    an unannounced lot (a 3 wt% solids step moves the cathode's coat weight by about 10 % at a fixed pump),
    while the coat weight can never be traded for LEL or residual, however far the line is from the tested
    point (a window of 0.15 around the step test's ratio let the plan cut the pump for LEL: 4.8 km of
    coat-weight scrap on the cathode's structural mismatch)."""
    min_fit_percent: float = setting(30.0, le=100.0)
    """An upper-limited output (exit residual, exit film temperature) whose validation fit is below this
    is not trusted to move: its limit becomes the step test's mean (the recipe's level), no looser."""
    speed_min_frac: float = setting(0.5, ge=0.0, le=1.0)
    """Lowest speed the lmpc may choose, fraction of the plan's target (of the recipe's speed where the plan asks
    for more)."""
    speed_weight: float = setting(5.0, ge=0.0)
    """Target: reward for running at the plan's speed, per unit of v / v_target (the NMPC's target prices speed per
    unit of v over the recipe's speed since 2026-12-07)."""
    energy_ref_W: float = setting(5e5, gt=0.0)
    """Target: heater power that costs one unit of the objective (full speed earns ``speed_weight`` units), W."""
    target_move_weight: float = setting(1e-3, ge=0.0)
    """Target: quadratic weight on target moves (scaled inputs), keeps the target unique."""
    slack_weight: float = setting(1e3, gt=0.0)
    """Target: exact-penalty weight on the relative slacks of the output limits."""
    state_weight: float = setting(0.1, ge=0.0)
    """Plan: weight on the model states' distance from the target (scaled)."""
    input_weight: float = setting(1.0, ge=0.0)
    """Plan: weight on the inputs' distance from the target (scaled)."""
    coat_weight_weight: float = setting(10.0, ge=0.0)
    """Plan: weight on the coat weight's distance from its target, in units of its tolerance."""
    terminal_weight: float = setting(10.0, ge=0.0)
    """Plan: terminal weight on the states' distance from the target."""
    move_weight: float = setting(0.5, ge=0.0)
    """Plan: do-mpc ``rterm`` on every scaled input move."""
    soft_penalty: float = setting(1e3, gt=0.0)
    """Plan: exact (L1) penalty of the soft output limits."""
    q_x: float = setting(1e-2, ge=0.0)
    """Kalman filter: process noise on the model states (scaled units^2)."""
    q_d: float = setting(1e-3, ge=0.0)
    """Kalman filter: random-walk noise on the output disturbances but the coat weight's (scaled units^2)."""
    q_d_coat_weight: float = setting(1e-2, ge=0.0)
    """Kalman filter: random-walk noise on the coat weight's output disturbance (scaled units^2). A slurry lot
    change nobody announced is a step in it, to be learned within a few gauge transport times: at ``q_d``'s
    1e-3 a -3 wt% lot left the cathode's coat weight 1 % low 25 minutes after the step."""
    supervisor: SupervisorSettings = field(default_factory=SupervisorSettings)
    """Line stop, start-up and hand-back: ``[controllers.lmpc.supervisor]``."""
