"""The layer's wheels come from functions/layer.lock, fetched and hash-checked with the standard library (no pip)."""

import hashlib

import pytest

from components.layer_wheels import (LAYER_LOCK, LayerWheelError, LockedWheel, fetch, lock_text,
                                     pinned_requirements, read_lock)


def test_the_lock_names_exactly_the_pinned_requirements():
    locked = dict(wheel.project_and_version for wheel in read_lock())
    assert locked == pinned_requirements()
    assert all(len(w.sha256) == 64 and w.url.startswith("https://") and w.url.endswith("/" + w.filename)
               for w in read_lock())


def local_wheel(tmp_path, data: bytes, sha256: str) -> LockedWheel:
    source = tmp_path / "index" / "demo-1.0-py3-none-any.whl"
    source.parent.mkdir(exist_ok=True)
    source.write_bytes(data)
    return LockedWheel(source.name, sha256, source.as_uri())


def test_a_wheel_is_downloaded_once_and_kept_in_the_cache(tmp_path):
    wheel = local_wheel(tmp_path, b"wheel bytes", hashlib.sha256(b"wheel bytes").hexdigest())
    [path] = fetch([wheel], tmp_path / "cache")
    assert path.read_bytes() == b"wheel bytes"
    (tmp_path / "index" / wheel.filename).unlink()  # from now on only the cache has it
    assert fetch([wheel], tmp_path / "cache") == [path]


def test_a_wheel_whose_hash_differs_is_refused_and_never_cached(tmp_path):
    wheel = local_wheel(tmp_path, b"tampered", hashlib.sha256(b"original").hexdigest())
    with pytest.raises(LayerWheelError, match="does not have the SHA-256 that functions/layer.lock names"):
        fetch([wheel], tmp_path / "cache")
    assert not (tmp_path / "cache" / wheel.filename).exists()
    # A cached file with the wrong bytes is not used either: it is downloaded again (and refused here).
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / wheel.filename).write_bytes(b"tampered")
    with pytest.raises(LayerWheelError):
        fetch([wheel], tmp_path / "cache")


def test_a_lock_line_of_the_wrong_shape_is_one_line_naming_it(tmp_path):
    lock = tmp_path / "layer.lock"
    lock.write_text("# comment\ndemo-1.0-py3-none-any.whl 0123 https://example.invalid/demo.whl\n")
    with pytest.raises(LayerWheelError, match=r"layer.lock:2: expected '<wheel file> sha256=<hex> <url>'"):
        read_lock(lock)


@pytest.mark.toolchain
@pytest.mark.xdist_group("toolchains")
def test_the_lock_is_what_its_generator_writes_from_the_index_today():
    """pip chooses the wheels for the Lambda platform and PyPI's simple index gives their URLs (needs PyPI)."""
    assert lock_text() == LAYER_LOCK.read_text(encoding="utf-8")
