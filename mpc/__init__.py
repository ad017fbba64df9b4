"""calmline framework core and tools, in layers (lowest first; ``pyproject.toml`` holds the contract).

* core, above :mod:`plants`: :mod:`mpc.scenario` (the scenario format),
  :mod:`mpc.kpis`, :mod:`mpc.sysid` (identification), :mod:`mpc.interfaces`
  (what a controller and the harness exchange), :mod:`mpc.machine`,
  :mod:`mpc.errors`, :mod:`mpc.outputs` (writing files without losing the user's);
* between them, :mod:`mpc.edge`: the edge runtime (exported controller parts on numpy and ctypes,
  neither CasADi nor do-mpc), under :mod:`controllers`, whose estimator shares its filter;
* above :mod:`controllers`: :mod:`mpc.harness` (the closed loop),
  :mod:`mpc.report`, :mod:`mpc.runner` (run and compare scenarios),
  :mod:`mpc.campaign` (step tests), :mod:`mpc.calibrate`,
  :mod:`mpc.historian` (replay), :mod:`mpc.export` and :mod:`mpc.edge_verify` (``calmline export`` and
  ``calmline edge verify``), :mod:`mpc.regress` and the command line
  :mod:`mpc.cli`.

The Python API is each package's public names; ``docs/api.md`` lists them.
"""

__all__: list[str] = []
