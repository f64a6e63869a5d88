"""The JWT authorizer's layer is built for Lambda (arm64, CPython 3.12): offline, a Lambda environment imports a
package whose extension modules this machine cannot load (cryptography's, for aarch64) from localcloud's own
environment, which holds the same version; every pure-Python package still comes from the layer."""

import subprocess
import sys
import zipfile

from components.layer_wheels import AUTHORIZER_LAYER, fetch, read_lock
from harness.program import ROOT

CHECK = """
import sys
sys.path.insert(0, {root!r})
import localcloud.worker as worker
worker._use_host_builds_of_foreign_binaries()
import cryptography, jwt
from cryptography.hazmat.primitives.asymmetric import ec
ec.generate_private_key(ec.SECP256R1())
print(cryptography.__file__)
print(jwt.__file__)
"""


def test_a_layer_package_built_for_another_machine_is_imported_from_the_host_build_of_its_version(tmp_path):
    layer = tmp_path / "python"
    for wheel in fetch([w for w in read_lock(AUTHORIZER_LAYER.lock)
                        if w.filename.split("-")[0] in ("cryptography", "cffi", "pyjwt")]):
        zipfile.ZipFile(wheel).extractall(layer)
    assert list(layer.glob("cryptography/hazmat/bindings/_rust*.so"))  # the aarch64 build, unloadable here
    run = subprocess.run([sys.executable, "-c", CHECK.format(root=str(ROOT))], capture_output=True, text=True,
                         env={"PYTHONPATH": str(layer), "PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    crypto, jwt_file = run.stdout.split()
    assert not crypto.startswith(str(layer)) and jwt_file.startswith(str(layer))
    # Without the substitution the layer's own build fails to load, as it would on this machine.
    plain = subprocess.run([sys.executable, "-c", "import cryptography.hazmat.bindings._rust"], capture_output=True,
                           text=True, env={"PYTHONPATH": str(layer), "PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert plain.returncode != 0 and "ImportError" in plain.stderr
