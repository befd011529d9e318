"""The example connector: feedback entries become ``message`` records."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from evermuse_connectors.connector import (
    Connector,
    EnvVarName,
    ExtractContext,
    FakeSource,
    NormaliseContext,
    RateLimit,
    RawItem,
)
from evermuse_connectors.envelope import (
    Participant,
    Pii,
    Record,
    RecordType,
    Role,
)
from evermuse_connectors.errors import RecordError, shorten
from evermuse_connectors.ingest import check_base_url
from evermuse_example._fake import FakeFeedbackApi


class ExampleConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str
    token_env: EnvVarName = "EXAMPLE_API_TOKEN"
    internal_domains: list[str] = Field(default_factory=list)
    requests_per_second: float = 20.0

    @field_validator("base_url")
    @classmethod
    def _https_or_loopback(cls, value: str) -> str:
        return check_base_url(value, setting="base_url")


class ExampleConnector(Connector[ExampleConfig]):
    name = "example"
    config_model = ExampleConfig
    record_types = (RecordType.MESSAGE,)
    description = "Feedback entries from a small JSON API (the plugin example)."

    def extract(self, config: ExampleConfig, ctx: ExtractContext) -> Iterator[RawItem]:
        token = ctx.secret(config.token_env, purpose="the example API token")
        http = ctx.http(
            base_url=config.base_url,
            rate_limit=RateLimit(config.requests_per_second, 1.0, burst=5),
            headers={"authorization": f"Bearer {token.get_secret_value()}"},
        )
        params = {"since": ctx.window.start_epoch, "until": ctx.window.end_epoch}
        page: str | None = None
        while True:
            query = {**params, **({"next": page} if page else {})}
            body = http.get("/v1/entries", params=query).raise_for_status().json()
            ctx.count_call("entries.list")
            for entry in body["entries"]:
                yield RawItem(id=str(entry.get("id")), kind="entry", data=entry)
            page = body.get("next")
            if not page:
                return

    def normalise(
        self, item: RawItem, config: ExampleConfig, ctx: NormaliseContext
    ) -> list[Record]:
        entry = item.data
        text, created = entry.get("text"), entry.get("created_at")
        if not isinstance(text, str) or not isinstance(created, int | float):
            raise RecordError(
                f"entry {item.id}: expected text (a string) and created_at (epoch "
                f"seconds), got text={shorten(text, 40)} created_at="
                f"{shorten(created, 40)}; the API answered an unexpected shape"
            )
        author = str(entry.get("author_email") or "")
        domain = author.rpartition("@")[2].lower()
        role = Role.INTERNAL if domain in config.internal_domains else Role.EXTERNAL
        participants = (
            [Participant(id=author, email=author, role=role)] if author else []
        )
        return [
            Record(
                type=RecordType.MESSAGE,
                event_at=datetime.fromtimestamp(created, UTC),
                vendor_ids={"entry_id": item.id},
                product_id=ctx.routing.product_id,
                project_ids=ctx.routing.project_ids,
                nature=ctx.routing.nature,
                tags=ctx.routing.tags or None,
                data={"text": text, "channel": entry.get("channel", "web")},
                participants=participants or None,
                pii=Pii(contains_email="@" in text),
            )
        ]

    def malformed_item(self) -> RawItem:
        return RawItem(id="bad-entry", kind="entry", data={"text": None})

    def fake_source(self, *, seed: int, now: datetime) -> FakeSource:
        return FakeFeedbackApi(seed=seed, now=now).start()
