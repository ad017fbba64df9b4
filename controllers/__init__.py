"""Controllers by name: the fixed recipe, PID loops, the NMPC on the physics model and the identified-model MPC."""

from controllers.pid import PidController
from controllers.recipe import RecipeController
from controllers.registry import CONTROLLERS, controller_names, make_controller

__all__ = ["CONTROLLERS", "PidController", "RecipeController", "controller_names", "make_controller"]
