"""serve(): the blocking form behind `evermuse-connectors emulator`."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import httpx

from evermuse_connectors.emulator import DEFAULT_READ_KEY, DEFAULT_WRITE_KEY


def test_serve_prints_url_and_keys_serves_and_stops_on_ctrl_c(tmp_path, record):
    db = tmp_path / "served.sqlite3"
    script = textwrap.dedent(
        f"""
        from evermuse_connectors.emulator import EmulatorConfig, serve
        serve(EmulatorConfig(port=0, db_path={str(db)!r}))
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [process.stdout.readline() for _ in range(5)]
        url = lines[0].split()[-1]
        response = httpx.post(
            url + "/api/v1/ingest",
            json=[record(1)],
            headers={"x-api-key": DEFAULT_WRITE_KEY},
        )
    finally:
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=20)

    assert url.startswith("http://127.0.0.1:")
    assert any(DEFAULT_WRITE_KEY in line for line in lines)
    assert any(DEFAULT_READ_KEY in line for line in lines)
    assert response.status_code == 202
    assert process.returncode == 0, err
    assert db.exists()
