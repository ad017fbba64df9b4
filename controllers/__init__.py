"""Controllers: baselines (fixed recipe, PID loops); model-predictive controllers to come."""

from controllers.pid import PidController
from controllers.recipe import RecipeController
from controllers.registry import CONTROLLERS, controller_names, make_controller

__all__ = ["CONTROLLERS", "PidController", "RecipeController", "controller_names", "make_controller"]
