"""Who and where: the team, its users and its conversations, cached in the store.

A refresh re-runs many windows in a row; listing every user and channel again for
each would cost more than the history calls themselves (``users.list`` and
``conversations.list`` are Tier 2, 20 a minute). So the directory is kept as a
state document and reused while it is younger than ``directory_max_age_minutes``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from evermuse_connectors.connector import ExtractContext
from evermuse_connectors.errors import ConfigError
from evermuse_slack._client import SlackApi, SlackRefusal
from evermuse_slack._config import ChannelType, SlackConfig

__all__ = [
    "Directory",
    "channel_entry",
    "profile_entry",
    "select_channels",
    "user_entry",
]

logger = logging.getLogger(__name__)

STATE_NAME = "directory"
_STATE_VERSION = 1
_LIST_PAGE = 200  # Slack recommends no more than 200 per page for list methods.
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def user_entry(user: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a Slack user object that records use (users.list shape)."""
    raw_profile = user.get("profile")
    profile: Mapping[str, Any] = raw_profile if isinstance(raw_profile, Mapping) else {}
    entry: dict[str, Any] = {
        "id": str(user.get("id") or ""),
        "team_id": _text(user.get("team_id")) or _text(profile.get("team")),
        "name": _text(user.get("name")),
        "real_name": _text(profile.get("real_name")) or _text(user.get("real_name")),
        "display_name": _text(profile.get("display_name")),
        "email": _text(profile.get("email")),
        "is_bot": bool(user.get("is_bot")),
        "is_app_user": bool(user.get("is_app_user")),
        "deleted": bool(user.get("deleted")),
        "is_stranger": bool(user.get("is_stranger")),
    }
    return {k: v for k, v in entry.items() if v not in (None, False)}


def profile_entry(user_id: str, profile: Mapping[str, Any]) -> dict[str, Any]:
    """A user entry from the ``user_profile`` a message may carry (exports do)."""
    entry: dict[str, Any] = {
        "id": user_id,
        "team_id": _text(profile.get("team")),
        "name": _text(profile.get("name")),
        "real_name": _text(profile.get("real_name")),
        "display_name": _text(profile.get("display_name")),
    }
    return {k: v for k, v in entry.items() if v is not None}


def channel_entry(
    channel: Mapping[str, Any], *, kind: ChannelType | None = None
) -> dict[str, Any]:
    """The fields of a conversation that extract and records use."""
    cid = str(channel.get("id") or "")
    if kind is None:
        if channel.get("is_im"):
            kind = "im"
        elif channel.get("is_mpim"):
            kind = "mpim"
        elif channel.get("is_private") or channel.get("is_group"):
            kind = "private_channel"
        else:
            kind = "public_channel"
    # A direct message has no name; its id is the only stable label for it.
    name = cid if kind == "im" else (_text(channel.get("name")) or cid)
    member = channel.get("is_member")
    return {
        "id": cid,
        "name": name,
        "type": kind,
        "is_archived": bool(channel.get("is_archived")),
        "is_member": member if isinstance(member, bool) else None,
    }


@dataclass
class Directory:
    """The team, users by id, and the conversations the token can list."""

    team_id: str
    workspace_url: str | None
    users: dict[str, dict[str, Any]]
    channels: list[dict[str, Any]]
    missing_users: set[str] = field(default_factory=set)
    fetched_at: float = 0.0
    source: str = "api"
    changed: bool = False

    @property
    def channel_names(self) -> dict[str, str]:
        return {c["id"]: c["name"] for c in self.channels}

    def to_state(self, key: str) -> dict[str, Any]:
        return {
            "version": _STATE_VERSION,
            "key": key,
            "fetched_at": self.fetched_at,
            "team_id": self.team_id,
            "workspace_url": self.workspace_url,
            "users": self.users,
            "channels": self.channels,
            "missing_users": sorted(self.missing_users),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Directory:
        return cls(
            team_id=str(state["team_id"]),
            workspace_url=state.get("workspace_url"),
            users=dict(state.get("users") or {}),
            channels=list(state.get("channels") or []),
            missing_users=set(state.get("missing_users") or []),
            fetched_at=float(state.get("fetched_at") or 0.0),
            source="cache",
        )

    def users_for(
        self,
        ids: Iterable[str],
        messages: Iterable[Mapping[str, Any]],
        api: SlackApi | None,
    ) -> dict[str, dict[str, Any]]:
        """Entries for ``ids``, looking up the ones the directory lacks.

        Slack Connect users of other teams are not all in ``users.list``: their
        entry comes from a message's ``user_profile`` when it has one, otherwise
        from ``users.info`` (Tier 4), once per run; unknown ids are remembered.
        """
        wanted = list(dict.fromkeys(ids))
        profiles = _profiles(messages)
        found: dict[str, dict[str, Any]] = {}
        for user_id in wanted:
            entry = self.users.get(user_id)
            if entry is None and user_id in profiles:
                entry = profile_entry(user_id, profiles[user_id])
            if entry is None and api is not None and user_id not in self.missing_users:
                entry = self._user_info(api, user_id)
            if entry is not None:
                found[user_id] = entry
        return found

    def _user_info(self, api: SlackApi, user_id: str) -> dict[str, Any] | None:
        try:
            answer = api.call("users.info", user=user_id)
        except SlackRefusal as exc:
            logger.warning(
                "users.info %s: %s; the user stays unnamed", user_id, exc.error
            )
            self.missing_users.add(user_id)
            self.changed = True
            return None
        user = answer.get("user")
        if not isinstance(user, Mapping):
            self.missing_users.add(user_id)
            return None
        entry = user_entry(user)
        self.users[user_id] = entry
        self.changed = True
        return entry


def _profiles(messages: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    found: dict[str, Mapping[str, Any]] = {}
    for message in messages:
        profile, user = message.get("user_profile"), message.get("user")
        if isinstance(profile, Mapping) and isinstance(user, str):
            found.setdefault(user, profile)
    return found


def _state_key(config: SlackConfig) -> str:
    types = ",".join(sorted(config.channel_types))
    return f"{config.base_url}|{types}|archived={config.include_archived}"


def load_directory(
    api: SlackApi, config: SlackConfig, ctx: ExtractContext
) -> Directory:
    """The cached directory if fresh enough, else a new one from the API."""
    key = _state_key(config)
    state = ctx.store.get_state(ctx.source, STATE_NAME)
    max_age = config.directory_max_age_minutes * 60
    if (
        state.get("version") == _STATE_VERSION
        and state.get("key") == key
        and time.time() - float(state.get("fetched_at") or 0) < max_age
    ):
        directory = Directory.from_state(state)
        _check_team(config, directory.team_id)
        return directory
    directory = fetch_directory(api, config, ctx)
    save_directory(directory, config, ctx)
    return directory


def save_directory(
    directory: Directory, config: SlackConfig, ctx: ExtractContext
) -> None:
    ctx.store.put_state(ctx.source, STATE_NAME, directory.to_state(_state_key(config)))
    directory.changed = False


def fetch_directory(
    api: SlackApi, config: SlackConfig, ctx: ExtractContext
) -> Directory:
    identity = api.call("auth.test")
    team_id = str(identity.get("team_id") or "")
    _check_team(config, team_id)
    channels = [
        channel_entry(channel)
        for page in api.pages(
            "conversations.list",
            items_key="channels",
            what="channels",
            types=",".join(config.channel_types),
            exclude_archived=not config.include_archived,
            limit=_LIST_PAGE,
        )
        for channel in page.get("channels") or []
        if isinstance(channel, Mapping)
    ]
    users: dict[str, dict[str, Any]] = {}
    for page in api.pages(
        "users.list", items_key="members", what="users", limit=_LIST_PAGE
    ):
        for user in page.get("members") or []:
            if isinstance(user, Mapping) and user.get("id"):
                users[str(user["id"])] = user_entry(user)
    url = config.workspace_url or _https(identity.get("url"))
    logger.info(
        "%s: directory of team %s: %d channels, %d users",
        ctx.source,
        team_id,
        len(channels),
        len(users),
    )
    return Directory(team_id, url, users, channels, fetched_at=time.time())


def _https(value: object) -> str | None:
    if isinstance(value, str) and value.startswith("https://"):
        return value if value.endswith("/") else value + "/"
    return None


def _check_team(config: SlackConfig, team_id: str) -> None:
    if not team_id:
        raise ConfigError(
            "Slack auth.test answered no team_id; is base_url Slack's API?"
        )
    if config.team_id and config.team_id != team_id:
        raise ConfigError(
            f"team_id is {config.team_id} but the token in ${config.token_env} "
            f"belongs to team {team_id}; fix team_id or use that team's token"
        )


def select_channels(
    channels: list[dict[str, Any]], config: SlackConfig
) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """The conversations to read, sorted by id, and (entry, reason) for wanted
    entries that match nothing."""
    types = set(config.channel_types)
    pool = [
        c
        for c in channels
        if c["type"] in types and (config.include_archived or not c["is_archived"])
    ]
    missing: list[tuple[str, str]] = []
    if config.include_channels:
        wanted = set(config.include_channels)
        chosen = [c for c in pool if c["id"] in wanted or c["name"] in wanted]
        matched = {c["id"] for c in chosen} | {c["name"] for c in chosen}
        for ref in config.include_channels:
            if ref in matched:
                continue
            if _CHANNEL_ID.match(ref):
                # Not listed, but asked for by id: history will say whether it is
                # readable (a DM outside channel_types, or a wrong id).
                chosen.append(
                    {
                        "id": ref,
                        "name": ref,
                        "type": "public_channel",
                        "is_archived": False,
                        "is_member": None,
                    }
                )
            else:
                missing.append(
                    (
                        ref,
                        "no conversation of that name in conversations.list; check "
                        "the name, channel_types, and that the bot can see it",
                    )
                )
        pool = chosen
    excluded = set(config.exclude_channels)
    pool = [c for c in pool if c["id"] not in excluded and c["name"] not in excluded]
    return sorted(pool, key=lambda c: str(c["id"])), missing
