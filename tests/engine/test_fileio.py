"""engine.fileio: atomic writes that leave no temporary, say why they failed, and publish
several files all or none."""

from __future__ import annotations

import errno
import os
import time

import pytest

from engine import fileio
from engine.fileio import WriteError, atomic_path, atomic_write, clean_stale, publish_all


def temporaries(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(fileio.TMP_SUFFIX))


def test_atomic_write_text_bytes_and_callable(tmp_path):
    p = tmp_path / "sub" / "a.txt"
    assert atomic_write(p, "héllo") == p and p.read_text(encoding="utf-8") == "héllo"
    atomic_write(p, b"\x00\x01")
    assert p.read_bytes() == b"\x00\x01"
    atomic_write(p, lambda f: f.write(b"cb"))
    assert p.read_bytes() == b"cb" and temporaries(p.parent) == []


@pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")
def test_published_files_get_ordinary_permissions(tmp_path):
    p = tmp_path / "a.txt"
    atomic_write(p, "x")
    assert p.stat().st_mode & 0o777 == 0o666 & ~fileio._UMASK  # not mkstemp's 0600
    os.chmod(p, 0o640)
    atomic_write(p, "y")
    assert p.stat().st_mode & 0o777 == 0o640  # the replaced file's mode is kept


def test_a_failing_writer_leaves_the_old_file_and_no_temporary(tmp_path):
    p = tmp_path / "a.txt"
    atomic_write(p, "old")

    def boom(f):
        f.write(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(WriteError) as e:
        atomic_write(p, boom)
    assert str(e.value) == f"no space left on device while writing {p}"
    assert e.value.file == str(p) and isinstance(e.value, OSError)
    assert p.read_text() == "old" and temporaries(tmp_path) == []


def test_torch_save_disk_full_text_is_a_disk_full(tmp_path):
    p = tmp_path / "m.pt"
    full = "[enforce fail at inline_container.cc:672] . unexpected pos 1 vs 2"
    with pytest.raises(WriteError, match="no space left on device while"), atomic_path(p) as tmp:
        tmp.write_bytes(b"partial")
        raise RuntimeError(full)
    assert not p.exists() and temporaries(tmp_path) == []


def test_a_bug_in_the_writer_stays_itself(tmp_path):
    with pytest.raises(TypeError), atomic_path(tmp_path / "m.pt"):
        raise TypeError("a bug")
    assert temporaries(tmp_path) == []


def test_a_failing_rename_removes_the_temporary(tmp_path, monkeypatch):
    def no(src, dst):
        raise OSError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "replace", no)
    with pytest.raises(WriteError, match="permission denied while writing"):
        atomic_write(tmp_path / "a.txt", "x")
    assert list(tmp_path.iterdir()) == []


def test_publish_all_is_all_or_none(tmp_path, monkeypatch):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    a.write_text("a0")
    b.write_text("b0")

    def temps(*texts):
        out = []
        for t, path in zip(texts, (a, b, c), strict=False):
            tmp = fileio.temp_path(path)
            tmp.write_text(t)
            out.append((tmp, path))
        return out

    publish_all(temps("a1", "b1"))
    assert (a.read_text(), b.read_text()) == ("a1", "b1") and temporaries(tmp_path) == []

    real = os.replace

    def fail_on_c(src, dst):
        if str(dst) == str(c):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", fail_on_c)
    with pytest.raises(WriteError, match=f"no space left on device while writing {c}"):
        publish_all(temps("a2", "b2", "c2"))
    # a and b were renamed, then put back; c never existed
    assert (a.read_text(), b.read_text(), c.exists()) == ("a1", "b1", False)
    assert temporaries(tmp_path) == []


def test_publish_all_fsync_failure_replaces_nothing(tmp_path, monkeypatch):
    a = tmp_path / "a"
    a.write_text("a0")
    tmp = fileio.temp_path(a)
    tmp.write_text("a1")

    def nofsync(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", nofsync)
    with pytest.raises(WriteError, match="no space left"):
        publish_all([(tmp, a)])
    assert a.read_text() == "a0" and temporaries(tmp_path) == []


def test_clean_stale(tmp_path):
    old = time.time() - 2 * fileio.STALE_AFTER_S
    for name in (".a.json.x1.twtmp", ".last.pt.x2.twtmp", ".last.pt.tmp", "keep.txt"):
        (tmp_path / name).write_text("x")
    os.utime(tmp_path / ".a.json.x1.twtmp", (old, old))
    assert clean_stale(tmp_path) == 1  # only the old one
    assert clean_stale(tmp_path, 0, ["last.pt"]) == 2  # a writer's own files, any age
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]
    assert clean_stale(tmp_path / "missing") == 0


def test_an_unusable_file_name_is_a_write_error(tmp_path) -> None:
    import pytest

    from engine.fileio import WriteError, atomic_write

    with pytest.raises(WriteError, match="not a usable file name"):
        atomic_write(tmp_path / "a\x00b.json", "x")
    assert list(tmp_path.iterdir()) == []
