"""The ``splitbrain`` command line: run, check, systems.

Exit codes follow Jepsen: 0 valid, 1 invalid, 2 unknown (also: interrupted), 254 bad arguments or
input, 255 the harness crashed. Click runs with ``standalone_mode=False`` so that its usage errors
map to 254 like ours do, and every error a user can cause is one clear line naming the valid choices
or the offending file and line — never a traceback.
"""

from __future__ import annotations

import json
import math
import os
import random
import signal
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from checkers.history import HistoryError
from checkers.registry import PluginError as CheckerPluginError
from checkers.result import EXIT_BAD_INPUT, EXIT_CRASHED, merge_validity
from harness.apps.invoked import as_invoked
from harness.backends.registry import backend_names
from harness.run.spec import RunSpec, SpecError, read_spec
from harness.workloads import OptionError, workload_classes
from nemesis.executor import CapabilityError
from nemesis.faults import ScheduleError
from nemesis.packages import help_text as nemesis_help_text
from systems_under_test.registry import PluginError, UnknownName

USER_ERRORS = (UnknownName, SpecError, OptionError, HistoryError, CapabilityError, ScheduleError, PluginError,
               CheckerPluginError)

DEFAULTS = RunSpec()


def _version_text() -> str:
    """``splitbrain X.Y.Z (commit abc123def456[, modified])``; the commit only from a git checkout."""
    from importlib.metadata import PackageNotFoundError, version

    from harness.run.store import git_commit

    try:
        ver = version("splitbrain")
    except PackageNotFoundError:
        ver = "unknown"
    info = git_commit(Path(__file__).resolve().parents[2])
    if not info["commit"]:
        return f"splitbrain {ver}"
    return f"splitbrain {ver} (commit {info['commit'][:12]}{', modified' if info['dirty'] else ''})"


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True,
              callback=lambda ctx, _p, v: (click.echo(_version_text()), ctx.exit()) if v else None,
              help="print the version (and the git commit when run from a checkout) and exit")
def cli() -> None:
    """splitbrain: Jepsen-style correctness tests for distributed protocols."""


def _parse_json_option(name: str, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise click.BadParameter(f"not valid JSON ({e.msg})", param_hint=name) from None
    except RecursionError:
        raise click.BadParameter("JSON nested too deeply", param_hint=name) from None
    except ValueError as e:  # e.g. an integer literal longer than Python converts
        raise click.BadParameter(f"not valid JSON ({e})", param_hint=name) from None


def _finite(_ctx: click.Context, _param: click.Parameter, value: float | None) -> float | None:
    """A number flag must be finite: ``nan`` compares false with every bound and ``inf`` never ends."""
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"must be a finite number, got {value}")
    return value


def _store_path(_ctx: click.Context, _param: click.Parameter, value: str) -> Path:
    """``--store``: a non-empty directory path (an empty one would write runs into the current directory)."""
    if not value.strip():
        raise click.BadParameter("must not be empty (give a directory, e.g. store)")
    return Path(value)


def _writable_store(store: Path) -> None:
    """Refuse before the run a store that cannot be created or written (not a traceback halfway)."""
    try:
        store.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise click.BadParameter(f"cannot create {store}: {e.strerror or e}", param_hint="--store") from None
    if not os.access(store, os.W_OK | os.X_OK):
        raise click.BadParameter(f"{store} is not writable", param_hint="--store")


@cli.command()
@click.option("--system", default=DEFAULTS.system, show_default=True, help="system or system:variant to test")
@click.option("--workload", default="", help="workload (default: the system's first)")
@click.option("--backend", type=click.Choice(backend_names()), default=DEFAULTS.backend, show_default=True,
              help="where nodes run")
@click.option("--nodes", type=click.IntRange(min=1), default=DEFAULTS.nodes, show_default=True)
@click.option("--concurrency", type=click.IntRange(min=1), default=DEFAULTS.concurrency, show_default=True,
              help="number of client processes")
@click.option("--time-limit", type=click.FloatRange(min=0), default=DEFAULTS.time_limit, show_default=True,
              help="seconds of the main phase")
@click.option("--rate", type=click.FloatRange(min=0, min_open=True), default=DEFAULTS.rate, show_default=True,
              help="target ops per second, all clients together")
@click.option("--nemesis", default=",".join(DEFAULTS.nemesis), show_default=True,
              help=nemesis_help_text())
@click.option("--nemesis-interval", type=click.FloatRange(min=0, min_open=True),
              default=DEFAULTS.nemesis_interval,
              show_default=True, help="mean seconds of each fault and each quiet period")
@click.option("--seed", type=int, default=None, help="run seed (default: a fresh random one, printed)")
@click.option("--store", type=click.Path(file_okay=False), default="store", show_default=True,
              callback=_store_path)
@click.option("--test-name", default="", help="store directory name (default: from the system)")
@click.option("--quiesce", type=click.FloatRange(min=0), default=DEFAULTS.quiesce, show_default=True,
              help="seconds to wait after healing before the final reads")
@click.option("--op-timeout", type=click.FloatRange(min=0, min_open=True), default=DEFAULTS.op_timeout,
              show_default=True, help="seconds a client waits for a reply (then: info)")
@click.option("--check-time-limit", type=click.FloatRange(min=0, min_open=True),
              default=DEFAULTS.check_time_limit,
              show_default=True, help="checker budget in seconds (past it: unknown)")
@click.option("--workload-options", default=None, help='workload options as JSON, e.g. \'{"keys": 5}\'')
@click.option("--config", "config_json", default=None,
              help="system config overrides as JSON (keys the system does not read are refused)")
@click.option("--schedule", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="explicit nemesis schedule: JSON list of {at, f, value}")
@click.option("--bin", "bin_path", default=None, help="--system maelstrom: your program (Maelstrom protocol)")
@click.option("--bin-arg", "bin_args", multiple=True,
              help="--system maelstrom: an argument for --bin (repeatable)")
@click.option("--spec", "spec_path", type=click.Path(exists=True, path_type=Path), default=None,
              help="re-run a stored spec (run dir or spec.json); options given explicitly override it")
@click.option("--quiet", is_flag=True, help="no progress line")
@click.pass_context
def run(ctx: click.Context, /, **opts: Any) -> int:
    """Run one test against a cluster with faults, check it, store it and print the verdict."""
    from harness.run.progress import ProgressLine
    from harness.run.session import prepare, run_test

    plan = prepare(
        _spec_from_options(ctx, opts)
    )  # every refusal before the banner: one line, nothing started
    spec = plan.spec
    _writable_store(opts["store"])
    err = sys.stderr
    click.echo(f"splitbrain: {spec.system} on {spec.backend}, {spec.nodes} nodes, seed {spec.seed}, "
               f"{spec.time_limit:g}s, nemesis {','.join(spec.nemesis) or 'none'}"
               f"{f', explicit schedule of {len(spec.schedule)} ops' if spec.schedule is not None else ''}",
               file=err)
    for entry in spec.schedule or ():
        click.echo(f"  schedule: {json.dumps(entry)}", file=err)
    progress = None if opts["quiet"] else ProgressLine()
    try:
        res = run_test(plan, store=opts["store"], progress=progress)
    finally:
        if progress is not None:
            progress.close()
    counts = res.outcome.ops
    n_ops = sum(1 for op in counts if op.is_client and op.type == "invoke")
    if res.outcome.error:
        click.echo(res.outcome.error.rstrip(), file=err)
    if res.outcome.setup_error:
        click.echo(res.outcome.setup_error.rstrip(), file=err)
    faults = res.faults.phrase() if res.faults is not None else f"{res.outcome.faults_applied} faults"
    click.echo(f"verdict: {res.result.verdict} ({n_ops} ops, {faults}): {res.result.reason}")
    click.echo(f"report: {res.report_path}")
    if res.result.valid is not True:
        click.echo(f"replay: {as_invoked(res.replay_command)}")
    return res.exit_code


def _spec_from_options(ctx: click.Context, opts: dict[str, Any]) -> RunSpec:
    base = RunSpec()
    explicit = {k for k in opts if ctx.get_parameter_source(k) == click.core.ParameterSource.COMMANDLINE}
    if opts["spec_path"] is not None:
        path = opts["spec_path"]
        base, _ = read_spec(path / "spec.json" if path.is_dir() else path)
    fields: dict[str, Any] = {}
    simple = ("system", "workload", "backend", "nodes", "concurrency", "time_limit", "rate",
              "nemesis_interval",
              "test_name", "quiesce", "op_timeout", "check_time_limit")
    for name in simple:
        if opts["spec_path"] is None or name in explicit:
            fields[name] = opts[name]
    if opts["spec_path"] is None and "nodes" not in explicit:
        from systems_under_test.registry import resolve as resolve_system

        fields["nodes"] = resolve_system(opts["system"])[0].default_nodes  # the system's own default size
    if opts["spec_path"] is None or "nemesis" in explicit:
        fields["nemesis"] = tuple(p.strip() for p in opts["nemesis"].split(",") if p.strip()
                                  and p.strip() != "none")
    if opts["seed"] is not None:
        fields["seed"] = opts["seed"]
    elif opts["spec_path"] is None:
        fields["seed"] = random.SystemRandom().randrange(2**31)
    if opts["workload_options"] is not None:
        fields["workload_options"] = _parse_json_option("--workload-options", opts["workload_options"])
    if opts["config_json"] is not None:
        fields["config"] = _parse_json_option("--config", opts["config_json"])
    if opts["bin_path"] is not None or opts["bin_args"]:  # an external program: config "bin"/"bin_args"
        if str(fields.get("system", base.system)).split(":", 1)[0] != "maelstrom":
            raise click.BadParameter("only for --system maelstrom (an external program)", param_hint="--bin")
        base_config = dict(fields.get("config", base.config))
        if opts["bin_path"] is not None:
            base_config["bin"] = str(Path(opts["bin_path"]).expanduser().resolve())
        base_config["bin_args"] = list(opts["bin_args"])
        fields["config"] = base_config
    if opts["schedule"] is not None:
        items = _parse_json_option("--schedule", _read_text("--schedule", opts["schedule"]))
        if not isinstance(items, list):
            raise click.BadParameter("expected a JSON list of {at, f, value}", param_hint="--schedule")
        fields["schedule"] = tuple(items)
    return base.with_(**fields)


def _read_text(option: str, path: Path) -> str:
    """A UTF-8 text file named by an option (a binary or unreadable file is the user's to fix)."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise click.BadParameter(f"{path}: not a UTF-8 text file", param_hint=option) from None
    except OSError as e:
        raise click.BadParameter(f"{path}: cannot read ({e.strerror or e})", param_hint=option) from None


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--model", default="cas-register", show_default=True, help="model for history files")
@click.option("--initial", default=None, help="initial model state as JSON (history files)")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=None, callback=_finite,
              help="checker budget in seconds; past it the keys still open are unknown")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="worker processes for many-key histories (default: the cores)")
@click.option("--memory-limit", type=click.IntRange(min=1), default=None, metavar="MB",
              help="past this resident memory the search answers unknown (default: 60% of what is free)")
@click.option("--checker", default=None,
              help="checker for history files (default: linearizable with --model): "
                   "linearizable, elle-list-append, elle-rw-register, bank, set-full, counter, unique-ids, "
                   "lock, long-fork, 2pc, stats; Maelstrom's kafka, echo, convergence, eventual-counter")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per input")
def check(paths: Sequence[Path], model: str, initial: str | None, time_limit: float | None, jobs: int | None,
          memory_limit: int | None, checker: str | None, as_json: bool) -> int:
    """Re-check stored run dirs, or check history files (Jepsen EDN, Elle JSON, Porcupine, ours).

    \b
    A failed cas, per format (as the producing tool reads it):
      Porcupine etcd logs: ':fail :cas' observed that the register did not
        hold the old value (Porcupine's etcd model);
      ours, Elle JSON, Jepsen EDN: only a failure with error 22 (precondition
        failed) is such an observation; any other failed op never happened
        (Knossos drops every failed op).
    """
    from checkers.registry import resolve as resolve_checker
    from harness.apps.check import check_file, check_run_dir

    init = _parse_json_option("--initial", initial) if initial is not None else None
    from checkers.models import get_model

    try:
        get_model(model, init)
    except (ValueError, TypeError) as e:
        raise click.BadParameter(str(e), param_hint="--model/--initial") from None
    if checker is not None:
        try:
            checker = resolve_checker(checker)
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="--checker") from None
    outcomes = []
    for path in paths:
        if path.is_dir():
            out = check_run_dir(path)
        else:
            out = check_file(path, model, initial=init, time_limit=time_limit, checker=checker, jobs=jobs,
                             memory_limit=memory_limit)
        outcomes.append(out)
        click.echo(json.dumps(out.to_json(), default=str) if as_json else out.line())
    if any(o.exit_code == EXIT_CRASHED for o in outcomes):
        return EXIT_CRASHED
    valid = merge_validity(o.result.valid for o in outcomes)
    return {True: 0, False: 1}.get(valid, 2)  # type: ignore[arg-type]


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def systems(as_json: bool) -> int:
    """List systems, their variants and planted bugs, workloads, fault packages and backends."""
    from nemesis.packages import describe
    from systems_under_test.registry import systems as all_systems

    doc: dict[str, Any] = {
        "systems": [
            {"name": d.name, "description": d.description, "workloads": list(d.workloads),
             "default_nodes": d.default_nodes,
             "variants": [{"name": v.name, "planted_bug": v.planted_bug,
                           "weaker_by_design": getattr(v, "weaker_by_design", False),
                           "description": v.description}
                          for v in d.variants]}
            for d in all_systems().values()
        ],
        "workloads": [{"name": n, "description": c.description, "checkers": list(c.checkers)}
                      for n, c in workload_classes().items()],
        "nemesis": describe(),
        "backends": backend_names(),
    }
    if as_json:
        click.echo(json.dumps(doc, indent=2))
        return 0
    tags = {(True, False): "[planted bug]", (False, True): "[weaker by design]", (False, False): "[correct]"}
    names = [v["name"] for s in doc["systems"] for v in s["variants"]]
    width = max(map(len, names), default=0)  # one column for every system, however long a name is
    tag_width = max(map(len, tags.values()))
    for s in doc["systems"]:
        click.echo(f"{s['name']}: {s['description']}")
        click.echo(f"  workloads: {', '.join(s['workloads'])}; default nodes: {s['default_nodes']}")
        for v in s["variants"]:
            tag = tags[(bool(v["planted_bug"]), bool(v["weaker_by_design"]) and not v["planted_bug"])]
            click.echo(f"  {v['name']:<{width}}  {tag:<{tag_width}} {v['description']}")
    click.echo("workloads:")
    width = max((len(w["name"]) for w in doc["workloads"]), default=0)
    for w in doc["workloads"]:
        click.echo(f"  {w['name']:<{width}}  {w['description']} (checkers: {', '.join(w['checkers'])})")
    click.echo("nemesis packages:")
    width = max((len(p["name"]) for p in doc["nemesis"]), default=0)
    for p in doc["nemesis"]:
        click.echo(f"  {p['name']:<{width}}  {p['description']} (needs: {p['capability']})")
    click.echo(f"backends: {', '.join(doc['backends'])}")
    return 0


@cli.command()
@click.option("--store", type=click.Path(file_okay=False, path_type=Path), default=Path("store"),
              show_default=True)
@click.option("--port", type=click.IntRange(min=0, max=65535), default=8000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on (keep it local)")
def serve(store: Path, port: int, host: str) -> int:
    """Serve the run store (reports, histories, the index) over HTTP; nothing outside the store."""
    from harness.apps.serve import make_server, refresh_index

    if not store.is_dir():
        raise click.BadParameter(f"no store at {store}", param_hint="--store")
    refresh_index(store)
    try:
        server = make_server(store, host, port)
    except OSError as e:  # port in use, no permission, a host that does not resolve
        reason = e.strerror or str(e)
        raise click.BadParameter(
            f"cannot listen on {host}:{port}: {reason}", param_hint="--host/--port"
        ) from None
    bound_host, bound_port = server.server_address[:2]
    click.echo(f"serving {store.resolve()} at http://{bound_host}:{bound_port}/ (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


from harness.apps.campaign.cli import campaign as _campaign  # the command group lives with campaigns

cli.add_command(_campaign)

from harness.apps.explore import explore_command  # the explore command lives with the explorer

cli.add_command(explore_command)

from harness.apps.docker_cli import cleanup as _cleanup  # docker image/cleanup commands live with the backend
from harness.apps.docker_cli import image as _image

cli.add_command(_image)
cli.add_command(_cleanup)


def run_cli(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (errors mapped to Jepsen's codes)."""
    err = sys.stderr
    try:
        rv = cli.main(
            args=list(argv) if argv is not None else None, prog_name="splitbrain", standalone_mode=False
        )
    except click.exceptions.Exit as e:
        return int(e.exit_code)
    except click.ClickException as e:
        # one line, as for every other user error (``--help`` shows the usage)
        click.echo(f"splitbrain: error: {' '.join(e.format_message().split())}", file=err)
        return EXIT_BAD_INPUT
    except click.exceptions.Abort:
        click.echo("splitbrain: interrupted", file=err)
        return 2
    except USER_ERRORS as e:
        click.echo(f"splitbrain: error: {e}", file=err)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        click.echo("splitbrain: interrupted", file=err)
        return 2
    except Exception:  # noqa: BLE001 - a harness bug: show it, exit 255
        click.echo(traceback.format_exc(), file=err)
        click.echo("splitbrain: crashed (this is a bug in splitbrain)", file=err)
        return EXIT_CRASHED
    return rv if isinstance(rv, int) else 0


def main() -> None:
    """Console-script entry point.

    Once the command is done, stop signals are ignored: a late Ctrl-C (a second one landing while the first
    is reported, or one after the last line) must not turn the exit status into a death by SIGINT.
    """
    try:
        code = run_cli()
    except KeyboardInterrupt:  # raised while run_cli was already handling one
        code = 2
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    sys.exit(code)


if __name__ == "__main__":
    main()
