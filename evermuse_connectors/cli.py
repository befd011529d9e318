"""The ``evermuse-connectors`` command: demo, emulator, send, sync, sources."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import IO, Any

import click
import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from evermuse_connectors.errors import DeliveryError, EvermuseError

__all__ = ["main"]

console = Console(stderr=True)
# Tables are the output: give them room when stdout is a file or a pipe.
out = Console(width=None if sys.stdout.isatty() else 160)


def _fail(message: str, code: int = 2) -> None:
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    sys.exit(code)


@click.group()
@click.option("-v", "--verbose", count=True, help="-v for INFO logs, -vv for DEBUG.")
def cli(verbose: int) -> None:
    """Keep Gmail, Slack and call recordings flowing into Evermuse."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


# -- demo ---------------------------------------------------------------------------


@cli.command()
@click.option(
    "--days", default=7, show_default=True, help="Windows to sync per source."
)
@click.option("--seed", default=42, show_default=True, help="Seed of the sample data.")
@click.option("--ui", is_flag=True, help="Start the Dagster UI on the demo instead.")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the demo's files here (default: a new temporary folder).",
)
def demo(days: int, seed: int, ui: bool, workdir: Path | None) -> None:
    """Sync sample data of every installed connector into a local emulator."""
    from evermuse_connectors.demo import demo_setup, run_demo_windows, run_ui

    if logging.getLogger().level >= logging.WARNING:
        # The sample workspaces hold deliberate trouble (a channel the bot may not
        # read, meetings without participants); the table reports the outcome, -v
        # shows each warning.
        logging.getLogger().setLevel(logging.ERROR)

    with demo_setup(workdir=workdir, seed=seed) as setup:
        for name, error in setup.failures.items():
            console.print(f"[yellow]connector {name} did not load:[/] {error}")
        console.print(f"emulator at {setup.emulator.url}; files in {setup.workdir}")
        if ui:
            console.print("starting the Dagster UI (Ctrl-C stops it and the fakes)")
            sys.exit(run_ui(setup))
        with console.status("syncing through Dagster…"):
            rows = run_demo_windows(setup, days=days)
        setup.emulator.wait_idle(30)
        stats = setup.emulator.stats()
    table = Table(title=f"demo: the last {days} windows of every source")
    for column in ("source", "window", "raw items", "records", "batches"):
        table.add_column(column, justify="right" if column != "source" else "left")
    for column in ("accepted", "rejected", "attachments", "failed checks"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            row.source,
            row.window,
            str(row.raw_items),
            str(row.records),
            str(row.batches),
            str(row.accepted),
            str(row.rejected),
            row.attachments,
            ", ".join(row.checks_failed) or "-",
        )
    out.print(table)
    out.print(
        f"The emulator now holds {stats.get('identities', '?')} records "
        f"from {stats.get('batches', '?')} batches."
    )
    out.print(
        "\nTo sync a real account: copy examples/evermuse.yaml to ./evermuse.yaml, "
        "set each source's settings and routing, export the environment variables "
        "its *_env fields name and EVERMUSE_API_KEY, then run "
        "`uv run dagster dev -w workspace.yaml` (or `evermuse-connectors sync`)."
    )
    if any(row.rejected for row in rows):
        sys.exit(1)


# -- emulator -----------------------------------------------------------------------


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=int)
@click.option(
    "--db",
    default=".evermuse/emulator.sqlite3",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="SQLite file; the data survives restarts.",
)
def emulator(host: str, port: int, db: Path) -> None:
    """Serve a local Evermuse ingest API until Ctrl-C."""
    from evermuse_connectors.emulator import EmulatorConfig, serve

    db.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(KeyboardInterrupt):
        serve(EmulatorConfig(host=host, port=port, db_path=str(db)))


# -- send ---------------------------------------------------------------------------


def _read_ndjson(
    handle: IO[bytes], bad: list[dict[str, Any]]
) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            bad.append({"line": number, "code": "NOT_JSON", "message": str(exc)})
            continue
        if not isinstance(value, dict):
            bad.append(
                {"line": number, "code": "NOT_AN_OBJECT", "message": "expected {...}"}
            )
            continue
        yield value


@cli.command()
@click.argument("file", type=click.File("rb"))
@click.option("--dry-run", is_flag=True, help="Validate and batch; post nothing.")
@click.option(
    "--rejected-out",
    type=click.Path(dir_okay=False, path_type=Path),
    default="rejected.ndjson",
    show_default=True,
    help="Where rejected records go, each with its reason.",
)
@click.option(
    "--max-records", default=1000, show_default=True, help="Records per batch."
)
def send(file: IO[bytes], dry_run: bool, rejected_out: Path, max_records: int) -> None:
    """Post NDJSON records from FILE (or - for stdin) to Evermuse."""
    from evermuse_connectors.ingest import Batcher, DeliveryPolicy, EvermuseClient

    unreadable: list[dict[str, Any]] = []
    records = _read_ndjson(file, unreadable)
    if dry_run:
        batcher = Batcher(max_records=max_records)
        table = Table(title="batches that would be sent")
        for column in ("type", "product", "records", "bytes", "idempotency key"):
            table.add_column(column)
        for batch in batcher.batches(records):
            table.add_row(
                batch.record_type,
                batch.product_id,
                str(len(batch)),
                str(batch.size),
                batch.key,
            )
        out.print(table)
        rejected = [r.to_json() for r in batcher.rejections] + unreadable
        _write_rejections(
            rejected_out, rejected, [r.record for r in batcher.rejections]
        )
        sys.exit(1 if rejected else 0)
    try:
        client = EvermuseClient.from_env(policy=DeliveryPolicy(max_records=max_records))
    except EvermuseError as exc:
        _fail(str(exc))
    with client, _progress() as progress:
        task = progress.add_task("sending", total=None)
        try:
            summary = client.send(
                records,
                on_batch=lambda b: progress.advance(task, b.records),
            )
        except DeliveryError as exc:
            _fail(str(exc), 3)
    _print_summary(summary.to_json())
    rows = [r.to_json() for r in summary.rejections] + [
        r.to_json() for r in summary.local_rejections
    ]
    records_of = [r.record for r in summary.rejections] + [
        r.record for r in summary.local_rejections
    ]
    _write_rejections(rejected_out, rows + unreadable, records_of)
    sys.exit(1 if rows or unreadable else 0)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=False,
    )


def _print_summary(counts: dict[str, Any]) -> None:
    table = Table(title="summary")
    table.add_column("")
    table.add_column("count", justify="right")
    for key, value in counts.items():
        table.add_row(key.replace("_", " "), str(value))
    out.print(table)


def _write_rejections(
    path: Path, rows: list[dict[str, Any]], records: list[bytes | None]
) -> None:
    if not rows:
        return
    with path.open("wb") as handle:
        for index, row in enumerate(rows):
            record = records[index] if index < len(records) else None
            row = {**row, "record": orjson.loads(record) if record else None}
            handle.write(orjson.dumps(row) + b"\n")
    console.print(f"[yellow]{len(rows)} rejected record(s) written to {path}[/]")


# -- sources and sync ---------------------------------------------------------------


def _config_option() -> Callable[[Callable[..., None]], Callable[..., None]]:
    return click.option(
        "--config",
        "config_file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="The sources file (default: $EVERMUSE_CONFIG or ./evermuse.yaml).",
    )


@cli.command()
@_config_option()
def sources(config_file: Path | None) -> None:
    """List configured sources and installed connectors."""
    from evermuse_connectors.connector import discover_connectors
    from evermuse_connectors.dagster import default_config_path
    from evermuse_connectors.sources import load_project

    found = discover_connectors()
    table = Table(title="installed connectors")
    for column in ("connector", "distribution", "record types", "status"):
        table.add_column(column)
    for name, connector in sorted(found.connectors.items()):
        types = ", ".join(t.value for t in connector.record_types)
        table.add_row(name, found.distributions.get(name, "?"), types, "ok")
    for name, error in sorted(found.failures.items()):
        table.add_row(name, "?", "?", f"[red]failed: {error}[/]")
    out.print(table)
    file = config_file or default_config_path()
    if not file.exists():
        out.print(f"no sources file at {file} (set EVERMUSE_CONFIG or pass --config)")
        return
    try:
        project = load_project(file)
    except EvermuseError as exc:
        _fail(str(exc))
    listing = Table(title=f"sources in {file}")
    for column in ("source", "connector", "window", "start", "product", "refresh"):
        listing.add_column(column)
    for spec in project.sources:
        listing.add_row(
            spec.name,
            spec.connector,
            spec.window,
            spec.start.isoformat(),
            spec.routing.product_id,
            "default" if spec.refresh_windows is None else str(spec.refresh_windows),
        )
    out.print(listing)


@cli.command()
@click.argument("source_name")
@click.option("--from", "first", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--to", "last", required=True, type=click.DateTime(["%Y-%m-%d"]))
@_config_option()
@click.option("--dry-run", is_flag=True, help="Extract and normalise; post nothing.")
@click.option(
    "--records-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --dry-run: write the records here as NDJSON.",
)
def sync(
    source_name: str,
    first: Any,
    last: Any,
    config_file: Path | None,
    dry_run: bool,
    records_out: Path | None,
) -> None:
    """Run SOURCE's windows from --from to --to (inclusive days) without Dagster."""
    from evermuse_connectors.syncing import run_sync

    try:
        code = run_sync(
            source_name,
            date(first.year, first.month, first.day),
            date(last.year, last.month, last.day),
            config_file=config_file,
            dry_run=dry_run,
            records_out=records_out,
            console=console,
            out=out,
        )
    except EvermuseError as exc:
        _fail(str(exc))
    sys.exit(code)


def main() -> None:
    cli(prog_name="evermuse-connectors")


if __name__ == "__main__":
    main()
