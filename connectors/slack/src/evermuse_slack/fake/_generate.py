"""A generated sample workspace: the same seed and ``now`` give the same data.

It holds what real workspaces hold and what a connector trips over: threads, late
replies (posted days after the parent), edits, files, bots (an integration posting
``bot_message`` and a bot user), Slackbot, a deleted user, a user that no longer
exists anywhere, Slack Connect users of another team (not in ``users.list``), a
deleted parent kept as a tombstone, join/topic events, a channel the bot is not in,
an archived channel, a DM and a group DM, and text in many scripts with mentions,
links, emails and phone numbers. ``big_channel_messages`` adds one very long
channel for benchmarks.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from evermuse_slack._ts import format_ts
from evermuse_slack.fake._files import vary_files
from evermuse_slack.fake._sample import (
    CHANNELS,
    CUSTOMERS,
    EXTERNAL,
    INTERNAL,
    REPLIES,
    SENTENCES,
)
from evermuse_slack.fake._workspace import SLACKBOT, FakeChannel, Workspace

__all__ = ["generate_workspace"]

_ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"


def _id(rng: random.Random, prefix: str, length: int = 10) -> str:
    return prefix + "".join(rng.choice(_ALNUM) for _ in range(length))


class _Generator:
    def __init__(self, seed: int, now: datetime, threads_per_day: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 (sample data, not secrets)
        self.now = now.astimezone(UTC)
        self.threads_per_day = threads_per_day
        self.team_id = _id(self.rng, "T", 9)
        self.ext_team = _id(self.rng, "T", 9)
        self.taken: set[str] = set()
        self.internal: list[str] = []
        self.external: list[str] = []
        self.deleted_user = self.bot_user = self.deploy_user = self.ghost = ""
        self.bot_id = self.deploy_bot_id = ""

    def users(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        internal = [
            self.user(real, display, handle, self.team_id)
            for real, display, handle in INTERNAL
        ]
        gone = self.user("Dana Whitfield", "dana", "dana", self.team_id)
        gone["deleted"] = True
        self.bot_id, self.deploy_bot_id = _id(self.rng, "B"), _id(self.rng, "B")
        bot = self.user(
            "Evermuse Sync", "", "evermuse", self.team_id, bot_id=self.bot_id
        )
        deploy = self.user(
            "Deploy Bot", "", "deploybot", self.team_id, bot_id=self.deploy_bot_id
        )
        slackbot = {
            "id": SLACKBOT,
            "team_id": self.team_id,
            "name": "slackbot",
            "deleted": False,
            "real_name": "Slackbot",
            "profile": {
                "real_name": "Slackbot",
                "display_name": "Slackbot",
                "team": self.team_id,
            },
            "is_bot": False,
            "is_app_user": False,
        }
        external = []
        for index, (real, display) in enumerate(EXTERNAL):
            user = self.user(real, display, f"ext{index}", self.ext_team)
            user["profile"].pop("email", None)  # other teams' profiles are thinner
            user["is_stranger"] = index == 2
            external.append(user)
        self.internal = [u["id"] for u in internal]
        self.deleted_user, self.bot_user, self.deploy_user = (
            gone["id"],
            bot["id"],
            deploy["id"],
        )
        self.external = [u["id"] for u in external]
        self.ghost = _id(self.rng, "U")
        return [*internal, gone, bot, deploy, slackbot], external

    def user(
        self,
        real: str,
        display: str,
        handle: str,
        team: str,
        *,
        bot_id: str | None = None,
    ) -> dict[str, Any]:
        user: dict[str, Any] = {
            "id": _id(self.rng, "U"),
            "team_id": team,
            "name": handle,
            "deleted": False,
            "real_name": real,
            "tz": "Europe/Lisbon",
            "profile": {
                "real_name": real,
                "display_name": display,
                "email": f"{handle}@{self.domain_of(team)}.example",
                "team": team,
                "image_72": f"https://avatars.example/{handle}.png",
            },
            "is_bot": bot_id is not None,
            "is_app_user": False,
        }
        if bot_id is not None:
            user["profile"].pop("email")
            user["profile"]["bot_id"] = bot_id
        return user

    def domain_of(self, team: str) -> str:
        return "northwind" if team == self.team_id else "contoso"

    def channels(self) -> list[FakeChannel]:
        created = int((self.now - timedelta(days=400)).timestamp())
        everyone = [*self.internal, self.bot_user]
        made = []
        for name, kind, _ in CHANNELS:
            prefix = "D" if kind == "im" else "C"
            channel = FakeChannel(
                _id(self.rng, prefix), name, kind, created, list(everyone)
            )
            made.append(channel)
        general, _, _, random_, _, shared, archived, mpim, dm = made
        general.is_general = True
        random_.bot_member = False
        random_.members.remove(self.bot_user)
        shared.ext_shared = True
        shared.members.extend(self.external)
        archived.is_archived = True
        mpim.members = [self.internal[0], self.internal[2], self.bot_user]
        dm.im_user, dm.members = self.internal[0], [self.internal[0], self.bot_user]
        secret = FakeChannel(
            _id(self.rng, "C"),
            "hr-private",
            "private_channel",
            created,
            [self.internal[1]],
            bot_member=False,
        )
        secret.messages.append(
            self.plain(self.internal[1], "Private notes.", self.now - timedelta(days=2))
        )
        return [*made, secret]

    def text(self, channel: FakeChannel, channels: list[FakeChannel]) -> str:
        rng = self.rng
        text = rng.choice(SENTENCES).format(
            c=rng.choice(CUSTOMERS), n=rng.randint(1000, 9999)
        )
        roll = rng.random()
        if roll < 0.25:
            text = f"<@{rng.choice(channel.members)}> {text}"
        elif roll < 0.33:
            other = rng.choice([c for c in channels if c.kind == "public_channel"])
            text += f" See <#{other.id}|{other.name}>."
        elif roll < 0.37:
            text = f"<!here> {text}"
        elif roll < 0.47:
            text += " Status: <https://status.example.com/incidents/42|status page>"
        elif roll < 0.52:
            name = rng.choice(["maria", "li.na", "o.brien"])
            text += f" Contact: {name}@customer.example"
        elif roll < 0.56:
            text += f" Call me at +44 20 7946 0{rng.randint(100, 999)}"
        return text

    def ts(self, moment: datetime) -> str:
        value = format_ts(moment.replace(microsecond=self.rng.randint(0, 999_999)))
        while value in self.taken:
            value = format_ts(moment.replace(microsecond=self.rng.randint(0, 999_999)))
        self.taken.add(value)
        return value

    def plain(
        self, user: str, text: str, moment: datetime, **extra: Any
    ) -> dict[str, Any]:
        return {
            "type": "message",
            "user": user,
            "text": text,
            "ts": self.ts(moment),
            **extra,
        }

    def day(self, workspace: Workspace, start: datetime, end: datetime) -> None:
        rng = self.rng
        active = [c for c in workspace.channels if c.name != "hr-private"]
        weights = [w for _, _, w in CHANNELS]
        seconds = int((end - start).total_seconds())
        if seconds <= 0:
            return
        for _ in range(max(1, self.threads_per_day + rng.randint(-4, 4))):
            channel = rng.choices(active, weights)[0]
            moment = start + timedelta(seconds=rng.randrange(seconds))
            if channel.is_archived and moment > self.now - timedelta(days=10):
                channel = active[1]  # the project was archived ten days ago
            channel.messages.append(self.top_level(workspace, channel, moment))
            parent = channel.messages[-1]
            if parent.get("subtype") is None and rng.random() < 0.35:
                self.thread(workspace, channel, parent, moment)
        events = rng.choice([c for c in active if c.kind != "im"])
        moment = start + timedelta(seconds=rng.randrange(seconds))
        joiner = rng.choice(events.members)
        events.messages.append(
            self.plain(
                joiner,
                f"<@{joiner}> has joined the channel",
                moment,
                subtype="channel_join",
            )
        )

    def top_level(
        self, ws: Workspace, channel: FakeChannel, moment: datetime
    ) -> dict[str, Any]:
        rng = self.rng
        roll = rng.random()
        ts = self.ts(moment)
        if roll < 0.06:
            return {
                "type": "message",
                "subtype": "bot_message",
                "ts": ts,
                "bot_id": self.deploy_bot_id,
                "username": "deploy-bot",
                "text": f"Deploy {rng.randint(100, 999)} finished ✅",
                "bot_profile": {
                    "id": self.deploy_bot_id,
                    "name": "deploy-bot",
                    "team_id": self.team_id,
                },
            }
        if roll < 0.10:
            return ws.message(
                self.deploy_user,
                "Nightly report: 3 new tickets",
                ts,
                bot_id=self.deploy_bot_id,
                bot_profile={
                    "id": self.deploy_bot_id,
                    "name": "Deploy Bot",
                    "team_id": self.team_id,
                },
            )
        author = self.author(channel, moment)
        message = ws.message(author, self.text(channel, ws.channels), ts)
        if roll < 0.14:
            message.update(subtype="file_share", files=[self.file(ws, author, moment)])
        elif roll < 0.17:
            message["subtype"] = "me_message"
        if rng.random() < 0.10:
            edited_at = moment + timedelta(seconds=rng.randint(30, 3000))
            if edited_at < self.now:
                message["edited"] = {"user": author, "ts": format_ts(edited_at)}
        return message

    def author(self, channel: FakeChannel, moment: datetime) -> str:
        rng = self.rng
        if channel.ext_shared and rng.random() < 0.45:
            return rng.choice([*self.external, self.ghost])
        if moment < self.now - timedelta(days=6) and rng.random() < 0.05:
            return self.deleted_user
        humans = [m for m in channel.members if m in self.internal]
        return rng.choice(humans)

    def file(self, ws: Workspace, user: str, moment: datetime) -> dict[str, Any]:
        fid = _id(self.rng, "F")
        secret = "".join(self.rng.choice("abcdef0123456789") for _ in range(10))
        return {
            "id": fid,
            "created": int(moment.timestamp()),
            "timestamp": int(moment.timestamp()),
            "name": "screenshot 📎.png",
            "title": "Screenshot",
            "mimetype": "image/png",
            "filetype": "png",
            "pretty_type": "PNG",
            "user": user,
            "size": self.rng.randint(2_000, 900_000),
            "mode": "hosted",
            "is_external": False,
            "url_private": f"https://files.slack.com/files-pri/{ws.team_id}-{fid}/screenshot.png",
            "url_private_download": f"https://files.slack.com/files-pri/{ws.team_id}-{fid}/download/screenshot.png",
            "thumb_360": f"https://files.slack.com/files-tmb/{ws.team_id}-{fid}/screenshot_360.png",
            "permalink": f"{ws.url}files/{user}/{fid}/screenshot.png",
            "permalink_public": f"https://slack-files.com/{ws.team_id}-{fid}-{secret}",
        }

    def thread(
        self,
        ws: Workspace,
        channel: FakeChannel,
        parent: dict[str, Any],
        moment: datetime,
    ) -> None:
        rng = self.rng
        replies = []
        at = moment
        for index in range(rng.randint(1, 6)):
            at += timedelta(minutes=rng.randint(1, 90))
            if index and rng.random() < 0.2:
                at += timedelta(days=rng.randint(1, 3))  # a late reply
            if at >= self.now:
                break
            text = rng.choice(REPLIES).format(c=rng.choice(CUSTOMERS))
            reply = ws.message(
                self.author(channel, at),
                text,
                self.ts(at),
                thread_ts=parent["ts"],
                parent_user_id=parent.get("user", ""),
            )
            if rng.random() < 0.04:
                reply["subtype"] = "thread_broadcast"
            replies.append(reply)
        if replies:
            channel.replies[parent["ts"]] = replies


def generate_workspace(
    seed: int,
    now: datetime,
    *,
    days: int = 14,
    threads_per_day: int = 20,
    big_channel_messages: int = 0,
) -> Workspace:
    """A workspace with activity on each of the ``days`` days before ``now``."""
    gen = _Generator(seed, now, threads_per_day)
    users, external = gen.users()
    ws = Workspace(
        gen.team_id,
        "Northwind Support",
        f"northwind-{seed % 1000}",
        gen.now,
        gen.bot_user,
        gen.bot_id,
        users,
        external,
        gen.channels(),
        gen.ext_team,
    )
    today = gen.now.replace(hour=0, minute=0, second=0, microsecond=0)
    for back in range(days, -1, -1):
        start = today - timedelta(days=back)
        gen.day(ws, start, min(start + timedelta(days=1), gen.now))
    _tombstone(gen, ws)
    vary_files(ws, seed)
    if big_channel_messages:
        ws.channels.append(_big_channel(gen, ws, big_channel_messages, days))
    for channel in ws.channels:
        channel.messages.sort(key=lambda m: m["ts"])
    return ws


def _tombstone(gen: _Generator, ws: Workspace) -> None:
    """Delete one threaded parent a few days back: Slack keeps a tombstone."""
    support = next(c for c in ws.channels if c.name == "support")
    cutoff = format_ts(gen.now - timedelta(days=4))
    threaded = [
        m for m in support.messages if m["ts"] < cutoff and support.replies.get(m["ts"])
    ]
    if threaded:
        ws.delete(support.id, threaded[-1]["ts"])


def _big_channel(gen: _Generator, ws: Workspace, count: int, days: int) -> FakeChannel:
    channel = FakeChannel(
        _id(gen.rng, "C"),
        "firehose",
        "public_channel",
        int(gen.now.timestamp()) - 86_400 * (days + 1),
        [*gen.internal, gen.bot_user],
    )
    span = int(timedelta(days=days).total_seconds())
    start = gen.now - timedelta(days=days)
    for index in range(count):
        moment = start + timedelta(seconds=span * index / count)
        message = ws.message(
            gen.rng.choice(gen.internal),
            f"Event {index}: queue depth {index % 97}",
            gen.ts(moment),
        )
        channel.messages.append(message)
        if index % 10 == 0:
            gen.thread(ws, channel, message, moment)
    return channel
