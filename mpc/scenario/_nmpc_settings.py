"""Settings of the NMPC (``[controllers.nmpc]`` and its sub-tables).

``[controllers.nmpc]`` itself holds only sub-tables, one per part of the
controller: ``.ocp`` (the dynamic problem, ``controllers/nmpc/_ocp.py``),
``.target`` (the economic steady-state target, ``_target.py``), ``.model``
(the controller's copy of the physics, ``_model.py``), ``.estimator`` (the
delayed-gauge filter, ``_estimator.py``) and ``.supervisor`` (line stop and
restart, ``mpc/edge/_supervisor.py``). The OCP and the target share some
names (``lel_margin``, ``speed_weight``...) with different defaults; each
table sets its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from mpc.scenario._controller_settings import SupervisorSettings
from mpc.scenario._settings import Settings, SettingsError, setting
from plants.params import LineParams

__all__ = ["EstimatorSettings", "ModelSettings", "NmpcSettings", "OcpSettings", "TargetSettings"]


@dataclass(frozen=True)
class OcpSettings(Settings):
    """The dynamic problem (``[controllers.nmpc.ocp]``): horizon, solver, soft limits, weights, move limits."""

    t_step_s: float = setting(20.0, gt=0.0)
    """NMPC step, s; a whole multiple of the scenario's control interval."""
    n_horizon: int = setting(6, ge=1)
    """Steps in the horizon; 6 x 20 s = 120 s covers the 96 s residence at nominal speed."""
    config: str = setting("tuned", choices=("tuned", "default", "sqp", "fatrop"))
    """Discretisation and solver: ``tuned`` (implicit Euler, warm-started IPOPT), ``default`` (do-mpc's
    defaults), ``sqp`` and ``fatrop`` (experimental, slower; ``docs/nmpc.md``, "Solve speed")."""
    retry_max_iter: int = setting(300, ge=0)
    """With ``tuned``: when the warm-started IPOPT fails (80 iterations), a second IPOPT solves from the same
    point without the warm start's multipliers and small barrier parameter, up to this many iterations (0: no
    retry; the step then falls back to the last plan). On ``nmc_nmp_exhaust_saturated``, before its OCP's speed
    reference followed the target, the first IPOPT failed in 38 of 240 solves and the retry finished 9
    (``docs/nmpc.md``, "Where speed gives way")."""
    warm_start: str = setting("previous", choices=("previous", "shift"))
    """Initial guess of each solve: ``previous``, the last solution as it stands (do-mpc's); ``shift``, every
    stage's primal values moved one stage earlier, the last stage repeated (the multipliers as they stand).
    ``calmline bench nmpc`` times both on a recorded closed-loop trajectory (``docs/nmpc.md``, "Solve speed")."""
    collocation_degree: int = setting(1, ge=1, le=5)
    """Degree of the prediction's Radau collocation per finite element with ``tuned``, ``sqp`` and ``fatrop``
    (``default`` keeps do-mpc's 2); 1 is implicit Euler. The horizon's largest error in LEL, exit residual and
    film temperature for the standard input steps, against a fine RK4 of the same model, as a fraction of the
    response's largest change (``calmline bench prediction``): degree 1, 33 % (cathode) and 104 % (anode);
    degree 3, 1.7 % and 0.7 % (``docs/nmpc.md``, "Prediction accuracy")."""
    collocation_elements: int = setting(1, ge=1, le=10)
    """Finite elements per step of the prediction's collocation (do-mpc's ``collocation_ni``); with
    ``tuned``, ``sqp`` and ``fatrop`` each element is ``t_step_s / collocation_elements`` long."""
    path_constraints: str = setting("interval_start", choices=("interval_start", "collocation_points"))
    """Where the soft path constraints (LEL, residual, critical rate, film, coating window) are imposed:
    ``interval_start``, at the start of every interval (do-mpc's default: the first is the measured state, which
    no move changes, and the horizon's end state is never checked); ``collocation_points``, at every collocation
    point of every interval, the end state included (with ``collocation_degree`` 1 the interval's one point is
    its end, which do-mpc then imposes twice). Not with ``config = "fatrop"``. Measured on the cathode's nominal
    shift at 7200 s: the same energy and Cpk as ``interval_start`` (``docs/nmpc.md``, "Prediction accuracy")."""
    lel_margin: float = setting(0.85, gt=0.0, le=1.0)
    """Soft limit of every zone's LEL fraction (plus its measured bias), as a fraction of the limit in force.
    With 0.9, the plant of ``nmc_nmp_structural_mismatch`` (analysers reading 3 points of LEL low, exhaust
    fans delivering 10 % less than the model thinks) went 58 s above the limit in its first hour; with 0.85,
    0 s (peak 0.489 against 0.50)."""
    residual_frac_of_usl: float = setting(0.8, gt=0.0, le=1.0)
    """Soft limit of the exit residual, as a fraction of its USL."""
    humidity_max_kg_kg: float = setting(0.09, gt=0.0, lt=1.0)
    """Soft limit of every zone's exhaust humidity ratio for a water dryer, kg/kg."""
    film_margin_K: float = setting(2.0, ge=0.0)
    """Every cell's film temperature is kept this far under the film's maximum (soft), K."""
    window_margin_min: float = setting(1.05, gt=0.0)
    """Least coating-window (low-flow) margin of the coater (soft); 1 is the window's edge."""
    state_weight: float = setting(0.1, ge=0.0)
    """Weight on the scaled states' distance from the target."""
    input_weight: float = setting(1.0, ge=0.0)
    """Weight on the scaled inputs' distance from the target."""
    speed_weight: float = setting(1e4, ge=0.0)
    """Weight on (v / v_target - 1)^2, ``v_target`` the plan's speed, or the economic target's where it gives way
    (a limit the target cannot meet at the plan's speed)."""
    coat_weight_weight: float = setting(10.0, ge=0.0)
    """Weight on the die coat weight's distance from its target, in units of its tolerance, squared."""
    terminal_weight: float = setting(10.0, ge=0.0)
    """Terminal weight on the scaled line states' distance from the target (``terminal_cost = "identity"``)."""
    terminal_cost: str = setting("identity", choices=("identity", "lqr"))
    """The terminal penalty: ``identity``, ``terminal_weight`` times the squared distance of the line states from
    the target's; ``lqr``, the infinite-horizon cost of the stage cost's state and input terms under the model
    linearised at the target (discrete Riccati solution, recomputed at every solve), on every state of the OCP's
    model (experimental: ``docs/nmpc.md``, "Solve speed")."""
    move_weight: float = setting(0.5, ge=0.0)
    """do-mpc ``rterm`` on every scaled input move."""
    soft_penalty: float = setting(1e3, gt=0.0)
    """Exact (L1) penalty of the soft LEL and residual limits; a tenth of it on the critical-stage rate,
    film temperature and coating-window limits."""
    exhaust_close_rate_m3_s2: float = setting(0.01, gt=0.0)
    """Largest exhaust reduction per second, m3/s per s (dampers close slowly: LEL rises within seconds)."""
    setpoint_rate_K_s: float = setting(0.1, gt=0.0)
    """With ``[controllers.nmpc.model] temperature_loops = "model"``: the largest move of a temperature loop's
    set point the plan makes, K/s (and never faster than the PLC's own set-point ramp). The feedforward carries
    the plan's fast heat; at the PLC's 1 K/s the anode's plan swung zone 4's set point by 27 K and back within
    two minutes and the film went over its limit (``docs/plc.md``)."""
    handback_rate_frac: float = setting(0.1, gt=0.0, le=1.0)
    """In the hand-back window (``[controllers.nmpc.supervisor] handback_ramp_s``) nozzle and heater moves
    are limited to this fraction of their move limits (speed, pump and exhaust opening keep theirs): a fast
    swing of the nozzles against the start-up recipe's hot air took the critical-stage rate over its limit."""


    def __post_init__(self) -> None:
        super().__post_init__()
        if self.config == "fatrop" and self.path_constraints == "collocation_points":
            raise SettingsError("path_constraints = 'collocation_points' with config = 'fatrop': expected "
                                "path_constraints = 'interval_start' (the stage-ordered fatrop problem imposes the "
                                "path constraints at the intervals' starts)")


@dataclass(frozen=True)
class TargetSettings(Settings):
    """The economic steady-state target (``[controllers.nmpc.target]``): margins, weights, how often, trust region."""

    lel_margin: float = setting(0.8, gt=0.0, le=1.0)
    """Fraction of the LEL limit in force the steady state may use (every zone, with its measured bias)."""
    humidity_max_kg_kg: float = setting(0.08, gt=0.0, lt=1.0)
    """Highest exhaust humidity ratio for a water dryer (keeps the drying driving force), kg/kg."""
    residual_frac_of_usl: float = setting(0.5, gt=0.0, le=1.0)
    """Exit residual held at this fraction of its USL (over-drying is not a virtue)."""
    critical_ratio_max: float = setting(0.95, gt=0.0, le=1.0)
    """Highest critical-stage drying rate of every cell, as a fraction of its limit."""
    film_margin_K: float = setting(5.0, ge=0.0)
    """Every cell's film temperature is kept this far under the film's maximum, K."""
    window_margin_min: float = setting(1.1, gt=0.0)
    """Least coating-window (low-flow) margin of the coater; 1 is the window's edge."""
    nozzle_min_m_s: float = setting(8.0, ge=0.0)
    """Lowest nozzle velocity that still floats the web (assumption), m/s; also the OCP's lower bound."""
    speed_weight: float = setting(5.0, ge=0.0)
    """Reward for running at the plan's speed, per unit of v over the recipe's speed: a m/s of web is worth the
    same whatever the plan asks for. Per unit of v over the plan's speed (before 2026-12-07) a plan asking for
    1.2 m/s that the exhausts could not ventilate priced speed at less than half, and the target traded it
    for power (``nmc_nmp_exhaust_saturated``, ``docs/nmpc.md``)."""
    energy_ref_W: float = setting(5e5, gt=0.0)
    """Primary power of the dryer (heaters, fans and solvent recovery, each weighted by its carrier's
    primary-energy factor, the scenario's ``[energy]``) that costs one unit of the objective, W."""
    move_weight: float = setting(1e-3, ge=0.0)
    """Quadratic weight on the target's scaled inputs' change from the last move (keeps the target unique)."""
    slack_weight: float = setting(1e3, gt=0.0)
    """Exact (L1) penalty on the slacks of the limits (the target exists when a limit cannot be met)."""
    every_s: float = setting(60.0, gt=0.0)
    """How often the target is recomputed (and at once when the speed plan or the LEL limit changes), s."""
    max_age_s: float = setting(float("inf"), gt=0.0, allow_inf=True)
    """How long the last good target is tracked while the target's solves fail, s. Older than this, the dynamic
    problem tracks the recipe's steady state (the start-up recipe's inputs) until a solve converges again.
    ``inf`` (the default, the runs of ``docs/results.md``): the last good target is kept however old. An edge
    deployment, where the target is published by a supervisory PC that may stop, sets a finite age
    (``--controller edge:DIR`` reads this table too; ``docs/edge.md``)."""
    offline_starts: bool = setting(False)
    """Where the target is solved afresh (its first solve, a step of the plan's speed, a change of the LEL limit
    in force, a restart: where the trust region below does not apply), solve it also from the plan's optimised
    points (each speed of the plan at each LEL limit, the least primary power over several starts at nominal
    estimates, solved before the run: :func:`controllers.nmpc.best_optimised_point`, what ``pid_opt`` runs at)
    and take the converged solve of least objective. Not the default: on the anode it starts the target in the
    optimum of least power, with zone 4's air a few kelvin under the film's limit, from which the target then
    drifts with the estimates; measured on eight anode scenarios (``docs/nmpc.md``) it cut
    ``graphite_water_unannounced_lot`` from 0.148 to 0.115 kWh/good m2 but raised six others by 1-10 % and made
    227 m of film-temperature scrap on the nominal shift."""
    max_move_scaled: float = setting(0.1, gt=0.0, allow_inf=True)
    """Trust region: the largest change of any scaled input (1 = its recipe value; heaters: half their
    capacity) from the last good target, while the LEL limit in force stays the same and the speed plan
    (target and cap) stays the same or moves by no more than this (scaled) since the last target, as on a
    ramp; a larger step of the plan, a change of the LEL limit or a restart frees it. The target then follows
    its local optimum as the estimates drift, instead of jumping to another one: on
    ``graphite_water_line_stop`` one solve jumped from nozzles at 33 m/s with the heaters nearly off to zones
    1-2 at 12 m/s with full exhaust, and the plant's critical-stage rate rose from 0.49 to 0.99 of its limit
    (the 2-cell model's own stayed at 0.95); on ``graphite_water_speed_ramp`` with the temperature loops in
    the model, a target freed at every step of the ramp jumped from zones 3-4 hot to zones 3-4 at room
    temperature with zone 1 at 398 K (``docs/plc.md``). ``inf`` switches it off."""


@dataclass(frozen=True)
class ModelSettings(Settings):
    """The controller's copy of the physics (``[controllers.nmpc.model]``)."""

    rate_law_smoothing_kg_kg: float = setting(0.005, ge=0.0, le=0.05)
    """Half-width, kg/kg (dry basis), of the rounded corners of the falling-rate and critical-stage laws in
    the controller's model (``plants.dryer.rounded_min``); 0 keeps the plant's exact piecewise-linear laws;
    at most half the distance between neighbouring corners of the preset's laws (checked when the model is
    built). With the exact laws the cathode's economic target sits with one cell at the critical content, a
    corner of both laws, and IPOPT cycled there to its iteration limit (2.5 h into ``nmc_nmp_nominal``);
    rounded by 0.0025-0.02 kg/kg the same recorded problems converge in 10-32 iterations. At 0.005, and only
    within 0.005 kg/kg of a corner, the falling-rate factor moves by at most 0.008 and the critical-stage
    weight by at most 0.025 (cathode; anode 0.011 and 0.017)."""

    temperature_loops: str = setting("model", choices=("model", "manual"))
    """How the NMPC drives the line PLC's zone air-temperature loops (``docs/plc.md``). ``"model"``: it plans
    each loop's set point and feedforward on a model that holds the PI loops and their thermocouples (the
    loops in remote mode; the feedforward carries the plan's heat, the loop corrects the model's error).
    ``"manual"``: its plan stays in heater power and is written as the loops' manual outputs (the loops in
    manual, no longer guarding their zones)."""

    def apply(self, params: LineParams) -> LineParams:
        """``params`` with these settings in its dryer (a new object; ``params`` is not changed)."""
        return replace(params, dryer=replace(params.dryer, rate_law_smoothing_kg_kg=self.rate_law_smoothing_kg_kg))


@dataclass(frozen=True)
class EstimatorSettings(Settings):
    """The NMPC's estimator (``[controllers.nmpc.estimator]``): the EKF's output biases, the delayed-gauge filter."""

    restart_skip_m: float = setting(60.0, ge=0.0)
    """Web coated after a restart that the delayed-gauge solids filter does not learn from, m (pump and
    drive out of step, web the model never saw)."""
    output_biases: str = setting("lel_filter", choices=("lel_filter", "ekf"))
    """Where the corrections of the constrained outputs come from. ``"lel_filter"`` (default): each zone's LEL
    bias is its analyser's reading minus the model's after the EKF's update, low-pass filtered (60 s); no other.
    ``"ekf"`` (experimental): the EKF carries an additive bias on the exit residual and a relative correction of
    each zone's LEL or exhaust humidity. Not the default: with the filter's own noise it is not offset-free
    either, and with ``state_noise_frac`` and ``solvent_state_noise_frac`` at 0.01, where it is on the residual,
    the cathode's structural-mismatch run crossed the LEL limit for 144 s (``docs/nmpc.md``, "Offset-free")."""
    output_bias_tau_s: float = setting(60.0, gt=0.0)
    """With ``output_biases = "ekf"``: time constant with which each output correction would follow a step in its
    output's plant-model mismatch on its own, s (sets the correction's random walk against its sensor's noise)."""
    state_noise_frac: float = setting(1.0, gt=0.0, le=1.0)
    """Process noise of every state of the EKF's model, as a fraction of the filter's own (``1e-4`` per step in
    the scaled states): below 1 the model's dynamics are trusted more and, with ``output_biases = "ekf"``, the
    corrections take a persistent mismatch sooner; at 0.001 the cathode's structural-mismatch run crossed the LEL
    limit later in the run (``docs/nmpc.md``, "Offset-free")."""
    solvent_state_noise_frac: float = setting(1.0, gt=0.0, le=1.0)
    """Process noise of the EKF's solvent-load states (the film's solvent per cell), as a fraction of the other
    states'; below 1, with ``output_biases = "ekf"``, the exit residual's bias takes its mismatch sooner
    (``docs/nmpc.md``, "Offset-free")."""


@dataclass(frozen=True)
class NmpcSettings(Settings):
    """The NMPC (``[controllers.nmpc]``): sub-tables only, one per part of the controller."""

    ocp: OcpSettings = field(default_factory=OcpSettings)
    """The dynamic problem: ``[controllers.nmpc.ocp]``."""
    target: TargetSettings = field(default_factory=TargetSettings)
    """The economic steady-state target: ``[controllers.nmpc.target]``."""
    model: ModelSettings = field(default_factory=ModelSettings)
    """The controller's copy of the physics: ``[controllers.nmpc.model]``."""
    estimator: EstimatorSettings = field(default_factory=EstimatorSettings)
    """The EKF's output biases and the delayed-gauge filter: ``[controllers.nmpc.estimator]``."""
    supervisor: SupervisorSettings = field(default_factory=SupervisorSettings)
    """Line stop, start-up and hand-back: ``[controllers.nmpc.supervisor]``."""
