"""A local Evermuse ingest API: the three endpoints of the published spec.

It validates like Evermuse (through :mod:`evermuse_connectors.envelope`), honours
idempotency keys, overwrites records by identity, walks batches through their
statuses, downloads ``vendor_url`` attachments (from loopback only), keeps
everything in a SQLite file, and misbehaves on demand::

    from evermuse_connectors.emulator import Emulator, EmulatorConfig, Faults

    with Emulator(EmulatorConfig(db_path="/tmp/em.sqlite3", port=0)) as emu:
        emu.set_faults(Faults(error_500_ratio=0.3, seed=1))
        ...  # post to emu.url with the key "em_sk_emulator_write"
        emu.wait_idle(10)
        print(emu.stats())
"""

from evermuse_connectors.emulator._config import (
    DEFAULT_READ_KEY,
    DEFAULT_WRITE_KEY,
    EmulatorConfig,
    Faults,
)
from evermuse_connectors.emulator._downloads import LOOPBACK_ONLY
from evermuse_connectors.emulator._emulator import Emulator, serve
from evermuse_connectors.emulator._errors import EmulatorError, EmulatorTimeout
from evermuse_connectors.emulator._validation import (
    MAX_BODY_BYTES,
    MAX_ERRORS_LISTED,
    MAX_RECORDS,
)

__all__ = [
    "DEFAULT_READ_KEY",
    "DEFAULT_WRITE_KEY",
    "LOOPBACK_ONLY",
    "MAX_BODY_BYTES",
    "MAX_ERRORS_LISTED",
    "MAX_RECORDS",
    "Emulator",
    "EmulatorConfig",
    "EmulatorError",
    "EmulatorTimeout",
    "Faults",
    "serve",
]
