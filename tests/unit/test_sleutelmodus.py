"""Every secret key file is refused when group or others may read it (one line naming the file and `chmod 600`),
by every reader; the key folder ``keys init`` creates is the owner's only."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from consumers.gegevens import lees_private_key
from producers.sleutels import Pseudonymiser, init_keys, open_sealed
from registry.cli.db import wachtwoord
from registry.infra import ondertekening
from registry.infra.gegevenskluis import lees_master_key
from registry.infra.sleutelbestanden import RegistryPseudoniemSleutel, prive_map

Lezer = Callable[[Path], object]

# file name -> every reader of that file in the code base
LEZERS: list[tuple[str, str, Lezer]] = [
    ("pseudonym.key", "Pseudonymiser", Pseudonymiser.from_file),
    ("registry.key", "lees_private_key", lees_private_key),
    ("registry.key", "open_sealed", lambda p: open_sealed(p, b"")),
    ("registry.key", "open_persoonsgegevens", lambda p: ondertekening.open_persoonsgegevens(p, b"")),
    ("signing.key", "Ondertekenaar", ondertekening.Ondertekenaar.from_file),
    ("signing.key", "load_verification_keys", ondertekening.load_verification_keys),
    ("master.key", "lees_master_key", lees_master_key),
    ("registry-pseudonym.key", "RegistryPseudoniemSleutel", RegistryPseudoniemSleutel.from_file),
]


def _keys(folder: Path) -> Path:
    init_keys(
        folder / "pseudonym.key",
        folder / "registry.pub",
        folder / "registry.key",
        signing_file=folder / "signing.key",
        registry_pseudonym_file=folder / "registry-pseudonym.key",
        master_file=folder / "master.key",
    )
    return folder


def test_keys_init_creates_a_private_key_folder(tmp_path: Path) -> None:
    folder = _keys(tmp_path / "nieuw" / "keys")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
@pytest.mark.parametrize(("name", "lezer", "lees"), LEZERS, ids=[f"{n}-{r}" for n, r, _ in LEZERS])
def test_a_key_file_others_may_read_is_refused_by_every_reader(
    tmp_path: Path, mode: int, name: str, lezer: str, lees: Lezer
) -> None:
    path = _keys(tmp_path / "keys") / name
    os.chmod(path, mode)
    with pytest.raises(Exception) as exc:  # each module has its own error type; all say the same
        lees(path)
    message = str(exc.value)
    assert str(path) in message and "chmod 600" in message and "\n" not in message, lezer


@pytest.mark.parametrize(("name", "lezer", "lees"), LEZERS[:2] + LEZERS[4:6] + LEZERS[6:], ids=str)
def test_a_private_key_file_is_read(tmp_path: Path, name: str, lezer: str, lees: Lezer) -> None:
    path = _keys(tmp_path / "keys") / name
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert lees(path) is not None, lezer


def test_a_private_folder_is_made_0700_and_an_open_one_narrowed(tmp_path: Path) -> None:
    nieuw = prive_map(tmp_path / "a" / "demo")
    assert _mode(nieuw) == 0o700
    open_ = tmp_path / "open"
    open_.mkdir(mode=0o755)
    os.chmod(open_, 0o755)
    assert _mode(prive_map(open_)) == 0o700


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_database_role_password_file_others_may_read_is_refused(tmp_path: Path) -> None:
    eerste = wachtwoord(tmp_path / "roles", "praktijk_api")  # generated 0600 in a 0700 folder
    assert _mode(tmp_path / "roles") == 0o700 and _mode(tmp_path / "roles" / "praktijk_api.password") == 0o600
    assert wachtwoord(tmp_path / "roles", "praktijk_api") == eerste
    os.chmod(tmp_path / "roles" / "praktijk_api.password", 0o644)
    with pytest.raises(Exception, match="chmod 600") as exc:
        wachtwoord(tmp_path / "roles", "praktijk_api")
    assert "praktijk_api.password" in str(exc.value) and "\n" not in str(exc.value)
