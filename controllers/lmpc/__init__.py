"""Identified-model MPC (``--controller lmpc``): a do-mpc MPC on a line model identified from step tests."""

from __future__ import annotations

from controllers.lmpc._controller import LmpcController
from controllers.lmpc._identify import (
    check_model_dt,
    fit_line_model,
    lmpc_inputs,
    lmpc_outputs,
    steptest_channels,
)
from controllers.lmpc._modelfile import RATIO_SETPOINT, LineModelFile, load_model_file
from mpc.scenario import LmpcSettings

__all__ = [
    "RATIO_SETPOINT",
    "LineModelFile",
    "LmpcController",
    "LmpcSettings",
    "check_model_dt",
    "fit_line_model",
    "lmpc_inputs",
    "lmpc_outputs",
    "load_model_file",
    "steptest_channels",
]
