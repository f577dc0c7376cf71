"""`make serve` takes PORT and HOST (and DB), as DESIGN.md §3 promises; the defaults stay 127.0.0.1:4010."""
from __future__ import annotations

import subprocess

from mock_support import REPO, ServedMock, free_port, stop_served, wait_healthy


def test_make_serve_takes_port_host_and_db(tmp_path):
    port = free_port()
    db = tmp_path / "state" / "state.db"
    log = tmp_path / "make-serve.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(["make", "-s", "-C", str(REPO), "serve", f"PORT={port}", "HOST=127.0.0.1",
                                    f"DB={db}"], stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
    served = ServedMock(f"http://127.0.0.1:{port}", process, port, log)
    try:
        wait_healthy(served.base_url, process, log, timeout_s=120)  # make may first refresh .venv
        assert db.is_file()
    finally:
        stop_served(served)


def test_make_serve_defaults_to_the_promised_address():
    dry = subprocess.run(["make", "-n", "-C", str(REPO), "serve"], capture_output=True, text=True, check=True)
    assert "--host 127.0.0.1 --port 4010 --db ./.mockserver/state.db" in dry.stdout
