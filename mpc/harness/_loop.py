"""The closed loop in process: a controller stepped against :class:`mpc.harness.SimulatedLine`.

What the line does at each interval is :mod:`mpc.harness._line`'s docstring; here the controller is
called with the line's :class:`Observation`, timed, and its :class:`Command` handed back.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from mpc.edge import LineSide
from mpc.harness._line import RunResult, SimulatedLine
from mpc.interfaces import Command, Controller, ControllerContext
from mpc.scenario import ScenarioSetup
from plants.line import LineLayout
from plants.plc import LoopSpec, Plc, PlcWriteError

__all__ = ["controller_context", "line_side", "run_closed_loop"]


def controller_context(setup: ScenarioSetup, controller_name: str,
                       plc_loops: Sequence[LoopSpec] | None = None) -> ControllerContext:
    """What the harness tells controller ``controller_name`` of the scenario at its reset (``Controller.reset``).

    ``plc_loops``: the line PLC's loops, where the caller has built them already (building them runs the PLC's
    step tests, about a second); default: built here (:meth:`ScenarioSetup.plc_loops`).
    """
    sc = setup.scenario
    bank = setup.actuators()
    dr = setup.plant_params.dryer
    return ControllerContext(
        controller_name=controller_name,
        dt_s=sc.control_interval_s,
        model_params=setup.model_params,
        recipe=setup.recipe,
        spec=sc.spec,
        schedule=setup.schedule,
        input_names=tuple(LineLayout(dr.n_zones, dr.cells_per_zone).input_names()),
        measurement_names=tuple(setup.sensor_specs),
        input_lower=bank.lower.copy(),
        input_upper=bank.upper.copy(),
        input_rate_limit=np.array([s.rate_limit_per_s for s in setup.actuator_specs], float),
        settings=dict(sc.controllers.get(controller_name, {})),
        source=setup.source,
        primary_factor_heater=sc.energy.factor(setup.model_params.dryer.heater_carrier),
        primary_factor_electricity=sc.energy.primary_factor_electricity,
        plc_loops=tuple(setup.plc_loops() if plc_loops is None else plc_loops),
        thermocouple_lag_s=sc.plc.thermocouple_lag_s,
    )


def line_side(setup: ScenarioSetup, controller_name: str, plc: Plc | None = None) -> LineSide:
    """What a line-side client needs of ``setup``'s line and of controller ``controller_name``'s context
    (:class:`mpc.edge.LineSide`; an edge artifact carries it as ``line.json``). ``plc``: the line's PLC where the
    caller has built it already (building one runs its loops' step tests); default: built here."""
    plc = setup.plc() if plc is None else plc
    return LineSide(scenario=setup.scenario.name, watchdog_s=float(setup.scenario.plc.watchdog_s),
                    plc_input_names=tuple(plc.input_names), plc_writable_names=tuple(plc.writable_names),
                    n_zones=int(setup.plant_params.dryer.n_zones),
                    context=controller_context(setup, controller_name, plc.specs), source=str(setup.source))


def run_closed_loop(
    setup: ScenarioSetup,
    controller: Controller,
    *,
    duration_s: float | None = None,
    progress: bool = False,
) -> RunResult:
    """Run ``controller`` on the scenario's plant; return the time series and metadata."""
    line = SimulatedLine(setup, duration_s=duration_s, stacklevel=3)
    ctx = controller_context(setup, getattr(controller, "settings_table", None) or controller.name, line.plc.specs)
    controller.reset(ctx)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=line.n_steps, desc=f"{setup.scenario.name} / {controller.name}", unit="step", leave=False,
                   mininterval=0.5)
    while not line.done:
        obs = line.observe()
        t0 = time.perf_counter()
        cmd: Command = controller.step(obs)
        step_ms = (time.perf_counter() - t0) * 1e3
        try:
            line.advance(cmd, step_ms)
        except PlcWriteError as exc:
            raise RuntimeError(f"controller {controller.name!r} at t = {obs.t_s:.0f} s: {exc}") from None
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return line.result(controller.name)
