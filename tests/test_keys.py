from __future__ import annotations

import base64
import json
import stat
import warnings

import pytest

from synthmark.errors import ExposedKeyWarning, KeyFileError, OutputExistsError
from synthmark.keys import generate_key, load_key, load_keys, parse_key


def test_save_load_round_trip_owner_only(tmp_path):
    key = generate_key()
    path = key.save(tmp_path / "a.key")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key(path) == key and load_key(path).key_id == key.key_id
    with pytest.raises(OutputExistsError):
        key.save(path)


def test_secret_never_in_repr_or_id(tmp_path):
    key = generate_key()
    secret = json.loads(key.save(tmp_path / "k.key").read_text())["secret"]
    assert secret not in repr(key) and key.key_id not in secret
    assert len(key.key_id) == 12


def test_streams_are_keyed_and_separated():
    a, b = generate_key(), generate_key()
    assert a.derive("image", "layout") != a.derive("audio", "layout")
    assert a.derive("image", "layout") != b.derive("image", "layout")
    assert (a.rng("x").integers(0, 1 << 30, 8) == a.rng("x").integers(0, 1 << 30, 8)).all()


@pytest.mark.parametrize(
    "content", [b"", b"{}", b"not json", b'{"format":"synthmark-key","version":1,"secret":"AAAA"}']
)
def test_bad_key_files(tmp_path, content):
    path = tmp_path / "bad.key"
    path.write_bytes(content)
    with pytest.raises(KeyFileError, match=r"bad\.key"):
        load_key(path)


def test_damaged_key_id_detected(tmp_path):
    path = generate_key().save(tmp_path / "k.key")
    doc = json.loads(path.read_text())
    doc["key_id"] = "000000000000"
    path.write_text(json.dumps(doc))
    with pytest.raises(KeyFileError, match="damaged"):
        load_key(path)


def test_load_keys_from_folder_deduplicates(tmp_path):
    key = generate_key()
    key.save(tmp_path / "a.key")
    key.save(tmp_path / "b.key")
    generate_key().save(tmp_path / "c.key")
    assert len(load_keys([tmp_path, tmp_path / "a.key"])) == 2


def test_a_key_file_others_can_read_is_loaded_with_a_warning(tmp_path):
    key = generate_key()
    path = key.save(tmp_path / "k.key")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_key(path) == key  # mode 0600: silent
    path.chmod(0o644)
    with pytest.warns(ExposedKeyWarning, match=r"k\.key: key file is readable by other users \(mode 0644\); chmod 600"):
        assert load_key(path) == key


def test_parse_key_reads_bytes_and_refuses_nesting():
    doc = {"format": "synthmark-key", "version": 1, "secret": base64.b64encode(bytes(range(32))).decode()}
    assert parse_key(json.dumps(doc).encode()) == parse_key(json.dumps(doc).encode())
    with pytest.raises(KeyFileError, match="not a synthmark key file"):
        parse_key(b"[" * 100_000 + b"]" * 100_000, path="deep.key")
