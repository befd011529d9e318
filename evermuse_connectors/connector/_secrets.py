"""Secrets are referenced by environment-variable name, never written in a file."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Annotated

from pydantic import AfterValidator, SecretStr

from evermuse_connectors.errors import ConfigError

__all__ = ["EnvVarName", "resolve_secret"]

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _check_env_name(value: str) -> str:
    if not _ENV_NAME.match(value):
        # The value might be a pasted secret: never echo it back.
        raise ValueError(
            "expected the NAME of an environment variable (letters, digits, _), "
            f"got a {len(value)}-character value that is not one; put the secret "
            "in an environment variable and write its name here"
        )
    return value


EnvVarName = Annotated[str, AfterValidator(_check_env_name)]
"""A config field that names the environment variable holding a secret."""


def resolve_secret(
    name: str, *, purpose: str, environ: Mapping[str, str] | None = None
) -> SecretStr:
    """The secret in environment variable ``name``, or a ConfigError saying so."""
    env = os.environ if environ is None else environ
    value = env.get(name, "")
    if not value.strip():
        raise ConfigError(
            f"environment variable {name} is not set; it should hold {purpose}. "
            f"Set it (export {name}=...) or point the config at another variable."
        )
    return SecretStr(value.strip())
