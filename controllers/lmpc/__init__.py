"""Identified-model MPC (``--controller lmpc``): a do-mpc MPC on a line model identified from step tests."""

from __future__ import annotations

from controllers.lmpc._controller import LmpcController
from controllers.lmpc._identify import check_model_dt, fit_line_model, lmpc_inputs, lmpc_outputs
from controllers.lmpc._modelfile import LineModelFile, load_model_file
from mpc.scenario import LmpcSettings

__all__ = [
    "LineModelFile",
    "LmpcController",
    "LmpcSettings",
    "check_model_dt",
    "fit_line_model",
    "lmpc_inputs",
    "lmpc_outputs",
    "load_model_file",
]
