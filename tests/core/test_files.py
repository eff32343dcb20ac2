"""Output files when the system refuses the space (kg_engine.core.files): the target keeps
what it held, no temporary file stays, and the error names the file and the cause."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from kg_engine.core.files import atomic_directory, atomic_output, atomic_write, write_failure
from kg_engine.errors import KgEngineError, OutputWriteError
from kg_engine.testing.iofaults import file_size_limit


@pytest.mark.parametrize("name", ["out.nt", "out.nt.gz"])
def test_a_refused_write_leaves_the_old_file_and_no_part_file(tmp_path: Path, name: str) -> None:
    target = tmp_path / name
    target.write_bytes(b"old")
    data = "".join(f"<urn:s{i}> <urn:p> \"{i * 7919}\" .\n" for i in range(20_000))
    with pytest.raises(OutputWriteError) as caught, file_size_limit(4096), \
            atomic_output(target) as f:
        f.write(data)
    assert isinstance(caught.value, (KgEngineError, OSError))
    assert caught.value.errno == errno.EFBIG
    assert str(caught.value).startswith(f"{target} was not written")
    assert "file size limit (4,096 bytes, ulimit -f)" in str(caught.value)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_atomic_write_and_directory_under_the_limit(tmp_path: Path) -> None:
    (tmp_path / "ckpt.pt").write_bytes(b"old")
    with file_size_limit(1000):
        with pytest.raises(OutputWriteError, match="ckpt.pt was not written"):
            atomic_write(tmp_path / "ckpt.pt", b"x" * 5000)
        with pytest.raises(OutputWriteError, match="csv was not written"), \
                atomic_directory(tmp_path / "csv") as folder:
            (folder / "nodes.csv").write_bytes(b"x" * 5000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.pt"]
    assert (tmp_path / "ckpt.pt").read_bytes() == b"old"


def test_write_failure_recognises_space_errors_only() -> None:
    full = write_failure(OSError(errno.ENOSPC, "No space left on device"), "x/out.ttl")
    assert full is not None and str(full).startswith("x/out.ttl was not written (a file there "
                                                    "before is unchanged): the disk is full")
    wrapped = RuntimeError("PytorchStreamWriter failed writing file")
    wrapped.__context__ = OSError(errno.EFBIG, "File too large")
    assert write_failure(wrapped, "ckpt.pt") is not None  # torch hides the OSError
    in_place = write_failure(OSError(errno.ENOSPC, "No space left on device"), "log.txt",
                             atomic=False)  # a file written in place: nothing is promised
    assert in_place is not None and str(in_place).startswith("log.txt was not written: the disk")
    assert write_failure(OSError(errno.EACCES, "Permission denied"), "out.ttl") is None
    assert write_failure(ValueError("bad"), "out.ttl") is None
