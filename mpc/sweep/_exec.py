"""Running a sweep's closed-loop runs: local worker processes, or a Dask distributed cluster.

One task is one controller on one draw; it returns one row (``draw_id``, ``controller``, ``status``
``ok`` or ``failed``, ``error``, ``wall_s`` and the run's KPI record). A run that raises is a
``failed`` row with its text. A worker process that dies takes the runs it held with it: the local
backend restarts its pool and runs each of them again, alone, once; one that kills its worker again
is recorded ``failed`` ("worker died"); on Dask a ``KilledWorker`` is recorded the same way. At
most ``workers`` runs are in flight locally, so a death touches only those.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["Task", "run_dask", "run_local", "run_task"]


@dataclass(frozen=True)
class Task:
    """One run: a controller on a draw (the draw's scenario as JSON, so that it pickles small)."""

    draw_id: int
    controller: str
    scenario_json: str
    source: str
    duration_s: float

    @property
    def key(self) -> tuple[int, str]:
        return (self.draw_id, self.controller)


def _plain(v: Any) -> Any:
    if hasattr(v, "item"):
        return v.item()
    return v


def run_task(task: Task) -> dict[str, Any]:
    """Run one task in this process; never raises (a failure is a ``failed`` row)."""
    t0 = time.perf_counter()
    row: dict[str, Any] = {"draw_id": task.draw_id, "controller": task.controller}
    try:
        import warnings

        from controllers.registry import make_controller
        from mpc.runner import run_setup
        from mpc.scenario import Scenario, build_setup

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sc = Scenario.model_validate_json(task.scenario_json)
            setup = build_setup(sc, source=task.source)
            res = run_setup(setup, make_controller(task.controller), duration_s=task.duration_s,
                            source=task.source)
        row.update(status="ok", error="")
        row.update({f"kpi_{k}": _plain(v) for k, v in res.kpis.items() if k not in ("scenario", "controller")})
    except Exception as exc:  # a run that raises is data: recorded, the sweep goes on
        tb = traceback.format_exception_only(type(exc), exc)
        row.update(status="failed", error="".join(tb).strip()[:2000])
    row["wall_s"] = time.perf_counter() - t0
    return row


def _died(task: Task, why: str) -> dict[str, Any]:
    return {"draw_id": task.draw_id, "controller": task.controller, "status": "failed",
            "error": f"worker died: {why}", "wall_s": math.nan}


def run_local(tasks: list[Task], workers: int, *, runner: Callable[[Task], dict[str, Any]] = run_task
              ) -> Iterator[dict[str, Any]]:
    """Rows as the tasks finish, on ``workers`` local processes (1: in this process).

    At most ``workers`` tasks are in flight, so a worker that dies takes only the runs it and its siblings
    held: those are run again, each alone in a fresh one-worker pool, and the rest go on in a new full pool.
    """
    if workers <= 1:
        for t in tasks:
            yield runner(t)
        return
    import multiprocessing as mp
    from collections import deque
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    ctx = mp.get_context("spawn")  # no fork after CasADi/JAX threads
    queue = deque(tasks)
    suspects: deque[Task] = deque()
    while queue or suspects:
        alone = bool(suspects)
        n_proc = 1 if alone else workers
        source = suspects if alone else queue
        broken: list[Task] = []
        pool = ProcessPoolExecutor(max_workers=n_proc, mp_context=ctx)
        try:
            futs: dict[Any, Task] = {}
            while (source or futs) and not broken:
                while source and len(futs) < n_proc and not broken:
                    t = source.popleft()
                    try:
                        futs[pool.submit(runner, t)] = t
                    except BrokenProcessPool:
                        broken.append(t)
                if not futs:
                    break
                done, _ = wait(futs, return_when=FIRST_COMPLETED)
                for f in done:
                    t = futs.pop(f)
                    try:
                        yield f.result()
                    except BrokenProcessPool:
                        broken.append(t)
                if alone and not broken:
                    break  # one suspect per pool
            # the pool broke: every task still in it was in flight with the one that died
            for f, t in futs.items():
                try:
                    yield f.result(timeout=0)
                except Exception:
                    broken.append(t)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        if alone:
            if broken:
                yield _died(broken[0], "the run killed its worker process when run alone")
        else:
            suspects.extend(broken)


def run_dask(tasks: list[Task], address: str, *, runner: Callable[[Task], dict[str, Any]] = run_task
             ) -> Iterator[dict[str, Any]]:
    """Rows as the tasks finish, on the Dask distributed scheduler at ``address``."""
    from distributed import Client, as_completed

    with Client(address, timeout="30s") as client:
        import hashlib

        def key(t: Task) -> str:  # unique to the draw's scenario: two sweeps on one scheduler never share one
            token = hashlib.sha256(f"{t.scenario_json}|{t.source}|{t.duration_s}".encode()).hexdigest()[:16]
            return f"calmline-run-{t.draw_id}-{t.controller}-{token}"

        futs = client.map(runner, tasks, pure=False, retries=0, key=[key(t) for t in tasks])
        by_key = {f.key: t for f, t in zip(futs, tasks, strict=True)}
        for f in as_completed(futs):
            try:
                yield f.result()
            except Exception as exc:  # KilledWorker, a lost worker, a cancelled future
                yield _died(by_key[f.key], f"{type(exc).__name__}: {exc}"[:500])

