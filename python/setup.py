"""Build the C extension syncd._syncd against an installed libsyncclient.

The library is found with pkg-config (syncclient.pc, installed by
`cmake --install`; set PKG_CONFIG_PATH for another prefix) and its static
archive is linked in, so the module needs only libprotobuf-c at run time.
Everything else is in pyproject.toml.
"""
import os
import subprocess

from setuptools import Extension, setup


def pkg_config(*args):
    try:
        out = subprocess.check_output(["pkg-config", *args, "syncclient"],
                                      text=True)
    except (OSError, subprocess.CalledProcessError):
        raise SystemExit(
            "syncd: libsyncclient not found by pkg-config.  Build and install "
            "syncd first (cmake -S . -B build && cmake --build build && "
            "cmake --install build), or set PKG_CONFIG_PATH to "
            "<prefix>/lib/pkgconfig.")
    return out.split()


libdir = pkg_config("--variable=libdir")[0]
archive = os.path.join(libdir, "libsyncclient.a")
if not os.path.exists(archive):
    raise SystemExit("syncd: %s is missing (install libsyncclient.a)" % archive)

setup(ext_modules=[Extension(
    "syncd._syncd",
    sources=["src/module.c", "src/lockable.c", "src/objects.c"],
    include_dirs=[f[2:] for f in pkg_config("--cflags-only-I")],
    extra_objects=[archive],
    libraries=["protobuf-c", "pthread", "m"],
)])
