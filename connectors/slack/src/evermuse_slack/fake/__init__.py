"""A fake Slack Web API and a generated workspace, for tests, benchmarks, demos."""

from evermuse_slack.fake._files import (
    FILES_HOST,
    connect_stub,
    external_file,
    file_bytes,
    hosted_file,
    tombstone_file,
)
from evermuse_slack.fake._generate import generate_workspace
from evermuse_slack.fake._methods import Faults
from evermuse_slack.fake._server import FAST_RATES, TOKEN_ENV, FakeSlack
from evermuse_slack.fake._workspace import FakeChannel, Workspace

__all__ = [
    "FAST_RATES",
    "FILES_HOST",
    "TOKEN_ENV",
    "FakeChannel",
    "FakeSlack",
    "Faults",
    "Workspace",
    "connect_stub",
    "external_file",
    "file_bytes",
    "generate_workspace",
    "hosted_file",
    "tombstone_file",
]
