"""A fake Slack Web API and a generated workspace, for tests, benchmarks, demos."""

from evermuse_slack.fake._generate import generate_workspace
from evermuse_slack.fake._methods import Faults
from evermuse_slack.fake._server import FAST_RATES, TOKEN_ENV, FakeSlack
from evermuse_slack.fake._workspace import FakeChannel, Workspace

__all__ = [
    "FAST_RATES",
    "TOKEN_ENV",
    "FakeChannel",
    "FakeSlack",
    "Faults",
    "Workspace",
    "generate_workspace",
]
