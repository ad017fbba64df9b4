"""Controllers by name: the fixed recipe, PID loops (on the recipe's or on optimised set points), the NMPC on the
physics model and the identified-model MPC."""

from controllers.pid import PidController
from controllers.pid_opt import PidOptController
from controllers.recipe import RecipeController
from controllers.registry import CONTROLLERS, controller_names, make_controller

__all__ = ["CONTROLLERS", "PidController", "PidOptController", "RecipeController", "controller_names", "make_controller"]
