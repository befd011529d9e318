"""How long the Dagster definitions take to load with many sources.

    uv run python benchmarks/definitions.py [--sources 20]

Writes a sources file with N sources spread over every installed connector (their
settings point at unroutable https hosts: loading must call no API at all), then, in
a fresh interpreter each time, times the import of the framework and the building of
the definitions. Prints the median of five runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

SETTINGS = {
    "example": {"base_url": "https://feedback.invalid"},
    "slack": {},
    "gmail": {
        "auth": {"kind": "service_account", "key_env": "GMAIL_KEY"},
        "mailboxes": ["support@acme.example"],
    },
    "zoom": {},
}

PROBE = """
import json, sys, time
started = time.perf_counter()
from evermuse_connectors.dagster import load_definitions
imported = time.perf_counter()
defs = load_definitions(sys.argv[1])
graph = defs.resolve_asset_graph()
loaded = time.perf_counter()
print(json.dumps({"import": imported - started, "load": loaded - imported,
                  "assets": len(list(graph.get_all_asset_keys()))}))
"""


def write_sources(folder: Path, count: int) -> Path:
    from evermuse_connectors.connector import discover_connectors

    names = sorted(n for n in discover_connectors().connectors if n in SETTINGS)
    sources = []
    for i in range(count):
        connector = names[i % len(names)]
        sources.append(
            {
                "name": f"{connector}_{i:02d}",
                "connector": connector,
                "routing": {"product_id": "prod", "project_ids": ["proj"]},
                "start": "2025-01-01",
                "settings": SETTINGS[connector],
            }
        )
    file = folder / "evermuse.yaml"
    file.write_text(
        yaml.safe_dump({"store": str(folder / "store"), "sources": sources})
    )
    return file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sources", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        file = write_sources(Path(folder), args.sources)
        runs = []
        for _ in range(5):
            done = subprocess.run(
                [sys.executable, "-c", PROBE, str(file)],
                capture_output=True,
                text=True,
                check=True,
            )
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    imports = statistics.median(r["import"] for r in runs)
    loads = statistics.median(r["load"] for r in runs)
    print(f"{args.sources} sources, {runs[0]['assets']} assets")
    print(f"import of the framework: {imports:.2f} s (median of 5)")
    print(f"building the definitions: {loads:.2f} s (median of 5; target < 2 s)")


if __name__ == "__main__":
    main()
