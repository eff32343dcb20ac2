"""The throwaway PostgreSQL server goes away with the process that started it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kg_engine.testing.postgres import PostgresUnavailable, find_pg_bin

try:
    find_pg_bin()
except PostgresUnavailable as exc:  # pragma: no cover - depends on the machine
    pytest.skip(str(exc), allow_module_level=True)

pytestmark = pytest.mark.postgres

_OWNER = """
import sys, time
from kg_engine.testing.postgres import TemporaryPostgres
pg = TemporaryPostgres().start()
print(pg.root, flush=True)
time.sleep(600)
"""


def _postmaster_running(root: Path) -> bool:
    pid_file = root / "data" / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split()[0])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return False
    return True


@pytest.mark.parametrize("how", ["sigkill", "fork-child"])
def test_server_stopped_when_its_owner_dies_without_atexit(how: str) -> None:
    """A SIGKILLed owner, or a multiprocessing fork child (which leaves by os._exit, so no
    atexit), left its server running with its files; the watcher stops and removes it."""
    if how == "sigkill":
        proc = subprocess.Popen([sys.executable, "-c", _OWNER], stdout=subprocess.PIPE, text=True)
        root = Path(proc.stdout.readline().strip())
        assert _postmaster_running(root)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    else:
        code = ("import multiprocessing as mp, os\n"
                "from kg_engine.testing.postgres import TemporaryPostgres\n"
                "def work(q):\n"
                "    q.put(str(TemporaryPostgres().start().root))\n"
                "if __name__ == '__main__':\n"
                "    ctx = mp.get_context('fork'); q = ctx.Queue()\n"
                "    p = ctx.Process(target=work, args=(q,)); p.start()\n"
                "    print(q.get(), flush=True); p.join()\n")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True)
        root = Path(out.stdout.strip())
    for _ in range(120):  # the watcher polls once a second; pg_ctl stop takes a moment
        if not root.exists() and not _postmaster_running(root):
            break
        time.sleep(0.5)
    assert not root.exists()
