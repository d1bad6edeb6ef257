"""Checks that registered files are the ones registered and usable: digests, a crash-safe parse
of the booster, the bundle's structure, and the identity of the registry file itself.

LightGBM aborts the whole process on some malformed model files (a truncated `booster.txt` ends
in `terminate called`, not an exception), so `booster.txt` is first parsed by a throwaway child
process (`probe_booster`, ~30 ms) and only then by this one.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from los.errors import ModelLoadError, RegistryUnavailableError
from los.targets import STAY_DISTRIBUTION
from models.bundle import BOOSTER_FILE, BUNDLE_FILE, ModelBundle
from models.lightgbm_api import lgb as lightgbm
from models.registry.client import require_registry, sqlite_path
from models.stay_model import DAY_COLUMN

_PROBE = """
import ctypes, sys
lib = ctypes.cdll.LoadLibrary(sys.argv[1])
lib.LGBM_GetLastError.restype = ctypes.c_char_p
handle, iterations = ctypes.c_void_p(), ctypes.c_int(0)
path = sys.argv[2].encode()
if lib.LGBM_BoosterCreateFromModelfile(path, ctypes.byref(iterations), ctypes.byref(handle)):
    print((lib.LGBM_GetLastError() or b"").decode(errors="replace").splitlines()[0][:300])
    sys.exit(3)
lib.LGBM_BoosterFree(handle)
"""


def store_identity(tracking_uri: str) -> tuple[int, int] | None:
    """(device, inode) of a SQLite registry file, which changes when another file is put at the
    path (a copy, a restore, `mv new.db mlflow.db`); None for other stores.

    Raises `RegistryUnavailableError` when the file is missing or empty (e.g. deleted).
    """
    path = sqlite_path(tracking_uri)
    if path is None:
        return None
    try:
        require_registry(tracking_uri)
        found = path.stat()
    except FileNotFoundError:  # deleted while we looked
        raise RegistryUnavailableError(
            f"registry database not found: {path} (no such file)"
        ) from None
    return found.st_dev, found.st_ino


def digests(directory: Path) -> dict[str, str]:
    """SHA-256 of the bundle's two files, as recorded at registration."""
    return {
        name: hashlib.sha256((directory / name).read_bytes()).hexdigest()
        for name in (BOOSTER_FILE, BUNDLE_FILE)
    }


def probe_booster(path: Path, where: str) -> None:
    """Parse `path` with LightGBM's C library in a child process first (see the module doc)."""
    library = getattr(getattr(lightgbm.basic, "_LIB", None), "_name", None)
    library = library or str(Path(lightgbm.__file__).parent / "lib" / "lib_lightgbm.so")
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", _PROBE, library, str(path)],  # no site: ~20 ms
        capture_output=True,
        timeout=120,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    if done.returncode == 0:
        return
    if done.returncode == 3:
        last = (done.stdout.decode(errors="replace").strip().splitlines() or ["unknown error"])[-1]
        why = "".join(ch if ch.isprintable() else "?" for ch in last)[:200]
    else:
        why = f"the LightGBM parser crashed (exit status {done.returncode})"
    raise ModelLoadError(f"{where} cannot be loaded: {BOOSTER_FILE} is not a valid model ({why})")


def check_files(directory: Path, recorded: str | None, where: str) -> None:
    """Files unchanged since registration (when `recorded`, the version's JSON digests tag), and
    a booster LightGBM can parse."""
    if recorded:
        try:
            expected = json.loads(recorded)
        except ValueError:
            expected = {}
        found = digests(directory)
        changed = sorted(name for name in found if expected.get(name) != found[name])
        if changed:
            raise ModelLoadError(
                f"{where} cannot be loaded: {', '.join(changed)} changed since registration "
                "(checksum mismatch)"
            )
    probe_booster(directory / BOOSTER_FILE, where)


def check_bundle(bundle: ModelBundle, where: str = "the model") -> None:
    """Structural checks a loaded bundle must pass before it scores anything.

    The booster must take exactly the encoder's columns, in order (a `bundle.json` whose feature
    list does not belong to its `booster.txt` fails here, not on a patient's request); the stay
    distribution's booster takes them and then the day in hospital (`models.stay_model`).
    """
    booster_features = list(bundle.booster.feature_name())
    expected = bundle.feature_names
    if bundle.label_target.kind == STAY_DISTRIBUTION:  # its hazard also reads the day
        expected = [*expected, DAY_COLUMN]
    if booster_features != expected:
        extra = sorted(set(expected) - set(booster_features))
        missing = sorted(set(booster_features) - set(expected))
        raise ModelLoadError(
            f"{where}: its feature list does not match its booster "
            f"({len(expected)} features in bundle.json, {len(booster_features)} in the booster; "
            f"unknown to the booster: {extra[:5]}, missing: {missing[:5]})"
        )
    if not (0.0 <= bundle.threshold <= 1.0 and np.isfinite(bundle.high_cut)):
        raise ModelLoadError(f"{where}: threshold {bundle.threshold} is not a probability")
