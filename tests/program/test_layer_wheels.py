"""Each layer's wheels come from its lock (functions/layer.lock, functions/authorizer-layer.lock), fetched and
hash-checked with the standard library (no pip)."""

import hashlib

import pytest

from components.layer_wheels import (AUTHORIZER_LAYER, LAYERS, SHARED_LAYER, LayerSpec, LayerWheelError,
                                     LockedWheel, fetch, lock_text, pinned_requirements, read_lock)

BY_NAME = pytest.mark.parametrize("layer", LAYERS, ids=lambda layer: layer.lock.name)


@BY_NAME
def test_the_lock_names_exactly_the_pinned_requirements(layer: LayerSpec):
    locked = dict(wheel.project_and_version for wheel in read_lock(layer.lock))
    assert locked == pinned_requirements(layer.requirements)
    assert all(len(w.sha256) == 64 and w.url.startswith("https://") and w.url.endswith("/" + w.filename)
               for w in read_lock(layer.lock))


def test_the_shared_layer_is_pure_python_and_has_no_cryptography():
    """pymysql imports cryptography whenever it is installed: in the shared layer it would load on every database
    function's cold start. Only the JWT authorizer's own layer holds it (and PyJWT)."""
    shared = pinned_requirements(SHARED_LAYER.requirements)
    assert set(shared) == {"aws-lambda-powertools", "jmespath", "typing-extensions", "pymysql"}
    assert all(w.filename.endswith("-py3-none-any.whl") for w in read_lock(SHARED_LAYER.lock))
    authorizer = pinned_requirements(AUTHORIZER_LAYER.requirements)
    assert {"pyjwt", "cryptography", "cffi", "pycparser"} <= set(authorizer) and "pymysql" not in authorizer
    # The authorizer's Logger is the same powertools, with the same dependencies, as every other function's.
    assert {name: authorizer[name] for name in ("aws-lambda-powertools", "jmespath", "typing-extensions")} == {
        name: shared[name] for name in ("aws-lambda-powertools", "jmespath", "typing-extensions")}


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
    with pytest.raises(LayerWheelError, match="does not have the SHA-256 that the layer's lock names"):
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
@BY_NAME
def test_the_lock_is_what_its_generator_writes_from_the_index_today(layer: LayerSpec):
    """pip chooses the wheels for the Lambda platform and PyPI's simple index gives their URLs (needs PyPI)."""
    assert lock_text(layer.requirements) == layer.lock.read_text(encoding="utf-8")
