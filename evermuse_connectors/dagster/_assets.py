"""Each source becomes three partitioned assets, their checks, a job and a schedule.

Asset keys are ``[source, "raw"]``, ``[source, "records"]`` and
``[source, "delivery"]``; the group is the source; partitions are its windows. The
assets return ``MaterializeResult`` and keep their data in the store, never in an IO
manager, so a window can be re-run stage by stage and a backfill runs one window per
run.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,  # the type define_asset_job returns; not re-exported
)

from evermuse_connectors.dagster._metadata import (
    delivery_metadata,
    extract_metadata,
    records_metadata,
)
from evermuse_connectors.dagster._resources import EvermuseResource, StoreResource
from evermuse_connectors.errors import (
    AuthError,
    BadRequestError,
    ConfigError,
    PermissionDeniedError,
    SourceAuthError,
)
from evermuse_connectors.pipeline import (
    DeliveryReport,
    deliver_window,
    extract_window,
    normalise_window,
)
from evermuse_connectors.sources import Source

__all__ = ["EVERMUSE_POOL", "build_source_definitions", "partitions_for"]

EVERMUSE_POOL = "evermuse"
_RETRY = dg.RetryPolicy(
    max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


@contextmanager
def _no_retry_for_what_retrying_cannot_fix() -> Iterator[None]:
    # Wrong configuration, refused credentials and refused bodies fail the same way
    # every time: fail the step at once instead of burning the retry policy.
    try:
        yield
    except (
        ConfigError,
        SourceAuthError,
        AuthError,
        PermissionDeniedError,
        BadRequestError,
    ) as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc


def partitions_for(source: Source) -> dg.TimeWindowPartitionsDefinition:
    start = source.spec.start.isoformat()
    if source.spec.window == "hour":
        return dg.HourlyPartitionsDefinition(
            start_date=f"{start}-00:00", timezone="UTC"
        )
    return dg.DailyPartitionsDefinition(start_date=start, timezone="UTC")


def build_source_definitions(source: Source) -> dg.Definitions:
    """The assets, checks, job and schedule of one source."""
    name = source.name
    partitions = partitions_for(source)
    kinds = {source.connector.name, "evermuse"}
    owners = list(source.spec.owners)
    raw_key = dg.AssetKey([name, "raw"])
    records_key = dg.AssetKey([name, "records"])
    delivery_key = dg.AssetKey([name, "delivery"])
    about = source.connector.description or source.connector.name

    @dg.asset(
        key=raw_key,
        group_name=name,
        kinds=kinds,
        owners=owners,
        partitions_def=partitions,
        pool=source.connector.pool,
        retry_policy=_RETRY,
        description=f"Raw items of {name} ({about}) as the source API returned them.",
        check_specs=[dg.AssetCheckSpec("complete", asset=raw_key)],
    )
    def raw(
        context: dg.AssetExecutionContext, evermuse_store: StoreResource
    ) -> dg.MaterializeResult:  # type: ignore[type-arg]
        window = source.window_for_key(context.partition_key)
        with _no_retry_for_what_retrying_cannot_fix():
            report = extract_window(source, window, evermuse_store.store())
        verdict = report.completeness
        check = dg.AssetCheckResult(
            check_name="complete",
            passed=verdict.passed if verdict else True,
            severity=dg.AssetCheckSeverity.WARN,
            description=(
                verdict.description
                if verdict
                else "the source reports no counts to compare with"
            ),
            metadata={"window": window.key, **(verdict.metadata if verdict else {})},
        )
        return dg.MaterializeResult(
            metadata=extract_metadata(report.items, report.kinds, report.stats),
            check_results=[check],
        )

    @dg.asset(
        key=records_key,
        deps=[raw_key],
        group_name=name,
        kinds=kinds,
        owners=owners,
        partitions_def=partitions,
        description=f"Evermuse records of {name}, normalised from its raw items.",
        check_specs=[dg.AssetCheckSpec("all_items_normalised", asset=records_key)],
    )
    def records(
        context: dg.AssetExecutionContext, evermuse_store: StoreResource
    ) -> dg.MaterializeResult:  # type: ignore[type-arg]
        window = source.window_for_key(context.partition_key)
        report = normalise_window(source, window, evermuse_store.store())
        check = dg.AssetCheckResult(
            check_name="all_items_normalised",
            passed=not report.failures,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"{len(report.failures)} of {report.items} raw items failed",
            metadata={"window": window.key},
        )
        return dg.MaterializeResult(
            metadata=records_metadata(
                report.items,
                report.records,
                report.by_type,
                report.failures,
                report.preview,
                report.attachments,
            ),
            check_results=[check],
        )

    @dg.asset(
        key=delivery_key,
        deps=[records_key],
        group_name=name,
        kinds=kinds,
        owners=owners,
        partitions_def=partitions,
        pool=EVERMUSE_POOL,
        retry_policy=_RETRY,
        description=f"Batches of {name}'s records posted to Evermuse, with the ledger.",
        check_specs=[
            dg.AssetCheckSpec("no_rejected_records", asset=delivery_key, blocking=True),
            dg.AssetCheckSpec("attachments_downloaded", asset=delivery_key),
        ],
    )
    def delivery(
        context: dg.AssetExecutionContext,
        evermuse_store: StoreResource,
        evermuse: EvermuseResource,
    ) -> dg.MaterializeResult:  # type: ignore[type-arg]
        window = source.window_for_key(context.partition_key)
        with _no_retry_for_what_retrying_cannot_fix(), evermuse.client() as client:
            report = deliver_window(
                source,
                window,
                evermuse_store.store(),
                client,
                wait_for_attachments=evermuse.wait_for_attachments_seconds,
            )
        return dg.MaterializeResult(
            metadata=delivery_metadata(report.summary),
            check_results=[_rejections_check(report), _attachments_check(report)],
        )

    job = dg.define_asset_job(
        f"{name}_sync_job",
        selection=dg.AssetSelection.groups(name),
        description=f"Sync {name}: extract, normalise and deliver one window.",
        tags={"evermuse/source": name},
    )
    return dg.Definitions(
        assets=[raw, records, delivery],
        jobs=[job],
        schedules=[_schedule(source, partitions, job)],
    )


def _rejections_check(report: DeliveryReport) -> dg.AssetCheckResult:
    summary = report.summary
    bad = summary.rejected + summary.refused
    return dg.AssetCheckResult(
        check_name="no_rejected_records",
        passed=bad == 0,
        description=(
            f"{summary.accepted} of {summary.sent} records accepted; "
            f"{summary.rejected} rejected by Evermuse, {summary.refused} refused "
            "before sending"
        ),
        metadata={"rejected": summary.rejected, "refused": summary.refused},
    )


def _attachments_check(report: DeliveryReport) -> dg.AssetCheckResult:
    total, done, failed = (
        report.attachments_total,
        report.attachments_downloaded,
        report.attachments_failed,
    )
    unsettled = [
        batch_id
        for batch_id, status in report.statuses.items()
        if status.get("attachmentDownloadStatus") in {"PENDING", "IN_PROGRESS"}
    ]
    return dg.AssetCheckResult(
        check_name="attachments_downloaded",
        passed=done == total and not unsettled,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            f"{done} of {total} attachments downloaded by Evermuse, {failed} failed"
            + (f", {len(unsettled)} batch(es) still downloading" if unsettled else "")
        ),
        metadata={"total": total, "downloaded": done, "failed": failed},
    )


def _schedule(
    source: Source,
    partitions: dg.TimeWindowPartitionsDefinition,
    job: UnresolvedAssetJobDefinition,
) -> dg.ScheduleDefinition:
    cron = source.spec.schedule or (
        "15 0 * * *" if source.spec.window == "day" else "15 * * * *"
    )
    refresh = source.refresh_windows
    status = (
        dg.DefaultScheduleStatus.RUNNING
        if source.spec.schedule_running
        else dg.DefaultScheduleStatus.STOPPED
    )

    @dg.schedule(
        name=f"{source.name}_schedule",
        cron_schedule=cron,
        job=job,
        execution_timezone="UTC",
        default_status=status,
        description=(
            f"Syncs the newest complete window of {source.name} and re-runs the "
            f"{refresh} before it, where late replies land."
        ),
    )
    def tick(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
        now: datetime = context.scheduled_execution_time
        keys = partitions.get_partition_keys(current_time=now)
        wanted = keys[-(refresh + 1) :]
        stamp = now.strftime("%Y%m%dT%H%M")
        return [
            dg.RunRequest(
                run_key=f"{key}@{stamp}",
                partition_key=key,
                tags={"evermuse/refresh": "false" if key == keys[-1] else "true"},
            )
            for key in wanted
        ]

    return tick
