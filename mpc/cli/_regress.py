"""``calmline regress``: the regression suite of historical disturbances against its golden files."""

from __future__ import annotations

import click

from mpc.cli._common import echo_json, stderr, user_errors

__all__ = ["regress"]


@click.command("regress")
@click.option("--suite", "suite_path", type=click.Path(dir_okay=False), default=None,
              help="Suite file (default scenarios/regression/suite.toml).")
@click.option("--case", "cases", multiple=True, help="Run only this case (repeatable).")
@click.option("--update", is_flag=True, help="Rewrite the golden files from this run and show the diff.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
def regress(suite_path: str | None, cases: tuple[str, ...], update: bool, as_json: bool) -> None:
    """Replay every case of the suite and compare its KPIs with the golden files.

    Prints a table of KPI vs golden with the verdict; only a change in a KPI's worse direction beyond its
    tolerance is a regression (step times are never compared). Exits 1 on a regression, a missing golden
    file or a case that fails to run. --update rewrites the golden files (only then) and prints the diff.
    """
    from mpc.regress import format_table, load_suite, result_json, run_suite

    with user_errors():
        suite = load_suite(suite_path)
        result = run_suite(suite, cases=list(cases) or None, update=update, progress=stderr)
    errors = [c for c in result.cases if c.verdict == "error"]
    if as_json:
        from mpc.machine import machine_info

        obj = result_json(result)
        obj["machine"] = machine_info()
        if update:
            obj["diffs"] = result.updated
        echo_json(obj)
    else:
        click.echo(format_table(result))
        if update:
            for diff in result.updated.values():
                click.echo(diff, nl=False)
            click.echo(f"updated {len(result.updated)} golden file(s); "
                       f"{len(result.cases) - len(errors) - len(result.updated)} unchanged")
    failed = bool(errors) if update else not result.passed
    if failed:
        click.get_current_context().exit(1)
