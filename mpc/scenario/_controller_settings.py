"""Settings of the baselines (``[controllers.recipe]``, ``[controllers.pid]``, ``[controllers.pid_opt]``) and of
the MPCs' supervisor.

Each class is read by the controller it names (``controllers/recipe.py``,
``controllers/pid.py``, ``controllers/pid_opt.py``, ``mpc/edge/_supervisor.py``); the mechanism is
:mod:`mpc.scenario._settings`. ``docs/controllers.md`` is generated from them.
"""

from __future__ import annotations

from dataclasses import dataclass

from mpc.scenario._settings import Settings, setting

__all__ = ["PidOptSettings", "PidSettings", "RecipeSettings", "SupervisorSettings"]


@dataclass(frozen=True)
class RecipeSettings(Settings):
    """The fixed recipe (``[controllers.recipe]``): the operator's periodic lab check of the coat weight."""

    manual_check_interval_s: float = setting(0.0, ge=0.0)
    """Time between lab coat-weight checks, s; 0 switches the manual correction off. The first check is
    taken one interval after the start; each corrects the pump-to-speed ratio by target / measured."""
    lab_delay_s: float = setting(1200.0, ge=0.0)
    """Time from taking a lab sample to correcting the pump ratio with its result, s."""


@dataclass(frozen=True)
class PidSettings(Settings):
    """The PID loops (``[controllers.pid]``): set points and what the tuning assumes of the sensors."""

    gauge_scan_s: float = setting(10.0, gt=0.0)
    """Scan period of the coat-weight gauge the tuning assumes, s: half a scan is added to the coat-weight
    loop's dead time (with the die-to-gauge transport delay), and the first reading integrates over one scan."""
    restart_skip_m: float = setting(60.0, ge=0.0)
    """After the line starts (a restart, a cold start), the coat-weight loop holds until the web coated this far
    past the start has reached the gauge, m: the web between die and gauge at the start stood in the dryer or
    was never coated (a cold start's bare foil reads zero and wound the loop to its limit, 20 % heavy), and
    pump and drive come up out of step (the NMPC's gauge filter skips the same web, ``[controllers.nmpc.estimator]``)."""
    lel_setpoint_of_limit: float | None = setting(None, gt=0.0, le=1.0)
    """Each zone's LEL set point (NMP), as a fraction of the LEL limit in force (0.8 of 25 % is 20 % LEL); not
    given: the NMPC economic target's ``lel_margin`` (``[controllers.nmpc.target]``'s default, 0.8), so that the
    PID and the NMPC plan on the same fraction of the limit."""
    humidity_setpoint_kg_kg: float | None = setting(None, gt=0.0, lt=1.0)
    """Exhaust humidity-ratio set point of every zone (water), kg/kg; not given: each zone's humidity at the
    recipe's steady state (the loop holds the recipe's drying conditions)."""
    analyser_delay_s: float = setting(12.5, ge=0.0)
    """Dead time added to each exhaust loop's step-test model for the LEL analyser or humidity sensor, s
    (its dead time plus half its lag, the half rule)."""
    restart_hold_s: float = setting(300.0, ge=0.0)
    """While the line stands and for this long after it restarts, s, every exhaust runs at least at the
    recipe's (the restart procedure): the loops would otherwise close the exhausts on the standing line and
    meet the first wet film closed. 300 s: the first wet film has left the dryer (as the MPCs' start-up
    phase, ``[controllers.nmpc.supervisor] restart_guard_s``)."""
    residual_setpoint_of_usl: float | None = setting(None, gt=0.0, le=1.0)
    """The exit residual solvent the trim holds the film at or below, as a fraction of its upper specification
    limit; not given: the NMPC economic target's ``residual_frac_of_usl`` (0.5), the same basis."""
    residual_trim_time_s: float = setting(600.0, ge=0.0)
    """Closed-loop time constant of the residual trim, s: integral control that moves the exhaust loops' set
    points from ``lel_setpoint_of_limit`` (or ``humidity_setpoint_kg_kg``) down to the levels the recipe runs its
    zones at while the exit residual gauge reads above its set point (``controllers._common.ResidualTrim``); slow
    beside the exhaust loops and the zones' air. 0 switches the trim off."""


@dataclass(frozen=True)
class PidOptSettings(Settings):
    """The optimised PID baseline (``[controllers.pid_opt]``): the PID's loops on the NMPC target's set points.

    The set points come from the NMPC's economic steady-state target with its default settings
    (``[controllers.nmpc.target]``'s defaults), solved once before the run at nominal conditions.
    """

    gauge_scan_s: float = setting(10.0, gt=0.0)
    """Scan period of the coat-weight gauge the tuning assumes, s (as ``[controllers.pid]``'s)."""
    restart_skip_m: float = setting(60.0, ge=0.0)
    """After the line starts, the coat-weight loop holds until the web coated this far past the start has reached
    the gauge, m (as ``[controllers.pid]``'s)."""
    lel_setpoint_of_limit: float | None = setting(None, gt=0.0, le=1.0)
    """The fraction of the LEL limit in force the economic target plans every zone at, and so the LEL loops'
    highest set points (NMP); not given: the NMPC target's ``lel_margin`` default (0.8), the same basis. For a
    safe-margin search (``scenarios/margin_bisection.py``)."""
    analyser_delay_s: float = setting(12.5, ge=0.0)
    """Dead time added to each exhaust loop's step-test model for the LEL analyser or humidity sensor, s (as
    ``[controllers.pid]``'s)."""
    restart_hold_s: float = setting(300.0, ge=0.0)
    """While the line stands and for this long after it restarts, s, every exhaust runs at least at the
    recipe's (as ``[controllers.pid]``'s)."""
    setpoint_ramp_s: float = setting(600.0, ge=0.0)
    """Time the set points take to move from one set to the next, s, linearly: at start-up from the recipe's to
    the optimised ones (well within the shipped scenarios' 1800 s warm-up), at a change of the speed plan (at
    least the plan's own ramp) and to and from the set for a failed analyser. 0 switches at once."""


@dataclass(frozen=True)
class SupervisorSettings(Settings):
    """The MPCs' supervisor (``[controllers.nmpc.supervisor]``, ``[controllers.lmpc.supervisor]``).

    After a line stop the MPC hands the line to its start-up phase for ``restart_guard_s``,
    then takes it back (``mpc/edge/_supervisor.py``).
    """

    restart_guard_s: float = setting(300.0, ge=0.0)
    """Start-up phase after a restart, s: the MPC runs its start-up inputs (the NMPC the start-up recipe, the
    lmpc the recipe controller) while its estimator catches up with the restarted line, then takes over.
    300 s is what the line needs at its 0.5 m/s: after the drive's 25 s ramp the film that stood in the
    dryer has left it at about 110 s, and the first web coated after the 60 m of settling web (pump and
    drive out of step) reaches the coat-weight gauge, 60 m past the die, at about 250 s; the phase ends a
    few gauge scans later. A longer phase runs the start-up inputs with nothing new to learn: on the
    line-stop scenarios 600 s raised the NMPC's resistance-proxy spread (anode 0.0020 to 0.0031, cathode
    0.0026 to 0.0036) and the lmpc's anode scrap (50 to 117 m); the lmpc's anode coat-weight Cpk is the one
    figure it lowers (1.92 at 600 s, 1.49 at 300 s; ``docs/lmpc.md``)."""
    handback_ramp_s: float = setting(600.0, ge=0.0)
    """Hand-back window at the start of a run (taking over from the recipe) and after each restart's start-up
    phase, s: the NMPC moves nozzles and heaters, and closes exhausts, at ``[controllers.nmpc.ocp]
    handback_rate_frac`` of their move limits in it (the lmpc does not use it)."""
    failed_analyser_limit_frac: float = setting(1.0, gt=0.0, le=1.0)
    """While an LEL analyser is failed, the LEL limit the MPC plans for is this fraction of the specification's
    limit without an analyser (its own margins apply on top). The failed zone is then known only from the
    model, which on a plant drying 4-10 % slower than it under-predicted the zone's LEL by up to a third
    (``docs/sweep.md``): 0.75 took the four such excursions of a 200-draw sweep to 0 s. 1: no extra margin
    (the default, on which the shipped results were measured)."""
