"""``evermuse-connectors sync``: the assets' code path for a range of windows, no UI.

For cron, CI and debugging. Each window runs extract, normalise and deliver exactly as
the Dagster assets do (the same functions of :mod:`evermuse_connectors.pipeline`), one
after the other, with a progress bar per stage and a summary table at the end.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from evermuse_connectors.connector import discover_connectors
from evermuse_connectors.dagster import default_config_path
from evermuse_connectors.errors import ConfigError
from evermuse_connectors.ingest import EvermuseClient
from evermuse_connectors.pipeline import (
    deliver_window,
    extract_window,
    normalise_window,
    stored_records,
)
from evermuse_connectors.sources import Source, load_project, resolve_sources
from evermuse_connectors.store import Store

__all__ = ["run_sync"]


def _source(name: str, config_file: Path) -> tuple[Source, Store]:
    project = load_project(config_file)
    specs = [s for s in project.sources if s.name == name]
    if not specs:
        known = ", ".join(s.name for s in project.sources) or "none"
        raise ConfigError(
            f"no source named {name!r} in {config_file} (sources: {known})"
        )
    [source] = resolve_sources(
        specs,
        discover_connectors(),
        file=str(config_file),
        attachments=project.attachments,
    )
    root = project.store
    if "://" not in root and not Path(root).is_absolute():
        root = str((config_file.parent / root).resolve())
    return source, Store(root)


def run_sync(
    name: str,
    first: date,
    last: date,
    *,
    config_file: Path | None,
    dry_run: bool,
    records_out: Path | None,
    console: Console,
    out: Console,
) -> int:
    """Sync the windows of ``first``..``last``; returns the exit code."""
    if last < first:
        raise ConfigError(f"--to {last} is before --from {first}; swap them")
    source, store = _source(name, config_file or default_config_path())
    keys = source.window_keys(first, last)
    client = None if dry_run else EvermuseClient.from_env()
    table = Table(title=f"sync {name}: {keys[0]} … {keys[-1]}")
    for column in (
        "window",
        "raw items",
        "skipped",
        "records",
        "not normalised",
        "batches",
        "accepted",
        "rejected",
    ):
        table.add_column(column, justify="right")
    problems = 0
    progress = Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
    )
    dump = records_out.open("wb") if (dry_run and records_out) else None
    try:
        with progress:
            tasks = {
                stage: progress.add_task(stage, total=len(keys))
                for stage in ("extract", "normalise", "deliver")
            }
            for key in keys:
                window = source.window_for_key(key)
                extracted = extract_window(source, window, store)
                progress.advance(tasks["extract"])
                normalised = normalise_window(source, window, store)
                progress.advance(tasks["normalise"])
                delivered = deliver_window(
                    source, window, store, client, dry_run=dry_run
                )
                progress.advance(tasks["deliver"])
                if dump is not None:
                    for record in stored_records(store, source.name, window):
                        dump.write(record + b"\n")
                summary = delivered.summary
                batches = len(delivered.planned) if dry_run else len(summary.batches)
                problems += summary.rejected + summary.refused
                table.add_row(
                    key,
                    str(extracted.items),
                    str(len(extracted.stats.skipped)),
                    str(normalised.records),
                    str(len(normalised.failures)),
                    str(batches),
                    "-" if dry_run else str(summary.accepted),
                    "-" if dry_run else str(summary.rejected + summary.refused),
                )
    finally:
        if dump is not None:
            dump.close()
        if client is not None:
            client.close()
    out.print(table)
    if problems:
        console.print(
            f"[red]{problems} record(s) rejected[/]; their reasons are in the store "
            f"under {source.name}/rejections/"
        )
    return 1 if problems else 0
