"""After lock, no copy of the data key (raw, or as hex in either case) or of the audit key
is left anywhere in the desk's memory (issue 12, item 11).

Each case runs in a fresh interpreter, so that the test runner's own copies do not count,
and that interpreter reads its whole memory back through /proc/self/mem. It learns the keys
from the store before lock, and keeps them only in a form that does not match itself: the
first half in the clear (to search for), the second half XOR-masked (to confirm a hit).
The controls show the scan finds each form of each key when there is one to find.

Not counted: the audit key inside a decrypted page of the meta table that SQLite freed at
close. With SQLCipher's memory security off (docs/security.md) decrypted pages are freed
unwiped, and whether one is still there after close depends on the allocator; such a hit is
reported, never a copy made by the desk.
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from spoa.store import keys
from tests.conftest import ADMIN_PASSWORD, REPO

reads_own_memory = pytest.mark.skipif(not Path("/proc/self/mem").exists(),
                                      reason="reads its own memory through /proc/self/mem (Linux)")

CHILD = r'''
import gc, json, secrets, sys
from pathlib import Path

from spoa.store.keys import MINIMUM_KDF
from spoa.store.store import Store

folder, scenario, password = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
CHUNK = 1 << 22
PAGE_ROW = b"audit_key"  # what precedes the audit key in a page of the meta table


class Needle:
    def __init__(self, name, head, tail):
        self.name, self.head = name, bytes(head)
        self.mask = secrets.token_bytes(len(tail))
        self.masked_tail = bytes(a ^ b for a, b in zip(tail, self.mask))
        self.length = len(self.head) + len(self.mask)

    def matches(self, buffer, at, end):
        start = at + len(self.head)
        if start + len(self.mask) > end:
            return False
        tail = buffer[start:start + len(self.mask)]
        return bytes(a ^ b for a, b in zip(tail, self.mask)) == self.masked_tail


def needles(name, key):
    half = len(key) // 2
    head, tail = key[:half], key[half:]
    return [Needle(name, head, tail),
            Needle(name + " hex", head.hex().encode(), tail.hex().encode()),
            Needle(name + " HEX", head.hex().upper().encode(), tail.hex().upper().encode())]


def regions():
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split(maxsplit=5)
            start, end = (int(x, 16) for x in fields[0].split("-"))
            label = fields[5].strip() if len(fields) > 5 else ""
            if fields[1].startswith("r") and label not in ("[vvar]", "[vsyscall]"):
                yield start, end, label


def scan(wanted):
    """Every place in this process's readable memory where a wanted key is, read into one
    buffer made beforehand (reading into new bytes objects would copy what it finds)."""
    overlap = max(n.length for n in wanted)
    buffer = bytearray(CHUNK + overlap)
    view = memoryview(buffer)
    hits = []
    with open("/proc/self/mem", "rb", buffering=0) as mem:
        for start, end, label in list(regions()):
            position = start
            while position < end:
                size = min(CHUNK + overlap, end - position)
                try:
                    mem.seek(position)
                    got = mem.readinto(view[:size])
                except (OSError, ValueError, OverflowError):
                    break
                for needle in wanted:
                    at = buffer.find(needle.head, 0, got)
                    while at != -1:
                        if needle.matches(buffer, at, got):
                            in_page = at >= len(PAGE_ROW) and buffer[at - len(PAGE_ROW):at] == PAGE_ROW
                            hits.append({"key": needle.name, "address": hex(position + at),
                                         "region": label or "anonymous",
                                         "in_meta_page": in_page})
                        at = buffer.find(needle.head, at + 1, got)
                position += CHUNK
    view.release()
    buffer[:] = bytes(len(buffer))
    return hits


store, _ = Store.init(folder, admin_username="admin", admin_display_name="Ada Admin",
                      admin_password=password, use_keyring=False, kdf=MINIMUM_KDF)
store.lock()
store = Store.unlock(folder, "admin", password)
wanted = needles("data key", store._data_key) + needles("audit key", store._audit_key)
report = {}
if scenario == "control":
    report["unlocked"] = scan(wanted)
    shown = (store._data_key.hex(), store._data_key.hex().upper(), store._audit_key.hex(),
             store._audit_key.hex().upper())
    report["hex_made"] = scan(wanted)
    del shown
else:
    store.change_password(password, password + " again")
    if scenario == "rekey":
        store.rekey()
        wanted += needles("new data key", store._data_key)
    store.lock()
    del store
    gc.collect()
    report["locked"] = scan(wanted)
print(json.dumps(report))
'''


def _run(tmp_path: Path, scenario: str) -> dict:
    result = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "store"), scenario,
                             ADMIN_PASSWORD], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _found(hits: list[dict]) -> set[str]:
    return {hit["key"] for hit in hits}


def _left_by_the_desk(hits: list[dict]) -> list[dict]:
    return [hit for hit in hits if not (hit["key"] == "audit key" and hit["in_meta_page"])]


@reads_own_memory
def test_the_scan_finds_each_key_while_unlocked_and_each_hex_form_once_made(tmp_path):
    report = _run(tmp_path, "control")
    # While unlocked the desk holds each key exactly once in the clear: its own buffer.
    # (SQLCipher keeps its copy of the data key masked.)
    held = _left_by_the_desk(report["unlocked"])
    assert sorted(hit["key"] for hit in held) == ["audit key", "data key"]
    assert _found(report["hex_made"]) >= {"data key", "data key hex", "data key HEX",
                                          "audit key", "audit key hex", "audit key HEX"}


@reads_own_memory
def test_no_key_is_left_in_memory_after_lock(tmp_path):
    """Create, lock, unlock, change the password (which opens a slot to check the old one),
    lock: nothing of either key, in any form."""
    hits = _run(tmp_path, "locked")["locked"]
    assert _left_by_the_desk(hits) == []


@reads_own_memory
def test_no_old_or_new_data_key_is_left_in_memory_after_rekey_and_lock(tmp_path):
    hits = _run(tmp_path, "rekey")["locked"]
    assert _left_by_the_desk(hits) == []


# -- owned_key: wiping the bytes a library hands over, only when nobody else can see them ----

@pytest.fixture
def wiped(monkeypatch):
    """What owned_key zeroed, read back while the object was still alive."""
    seen: list[bytes] = []
    memset = ctypes.memset

    def watching(address, value, size):
        memset(address, value, size)
        seen.append(ctypes.string_at(address, size))

    monkeypatch.setattr(keys.ctypes, "memset", watching)
    return seen


def _decrypted() -> bytes:
    return os.urandom(keys.KEY_BYTES)  # stands for AESGCM.decrypt's fresh bytes


def test_owned_key_copies_then_zeroes_a_temporary_passed_straight_in(wiped):
    if keys._ALONE is None:
        pytest.skip("this interpreter gives no way to tell a temporary from a held value")
    owned = keys.owned_key(_decrypted())
    assert isinstance(owned, bytearray)
    assert len(owned) == keys.KEY_BYTES
    assert any(owned)
    assert wiped == [bytes(keys.KEY_BYTES)]


def test_owned_key_leaves_alone_bytes_that_anyone_else_can_see(wiped):
    held = _decrypted()
    cache = {"key": _decrypted()}

    class Subclass(bytes):
        pass

    odd = Subclass(_decrypted())
    for value in (held, cache["key"], odd, b"k"):
        before = bytes(bytearray(value))
        assert keys.owned_key(value) == before
        assert value == before
    assert wiped == []


def test_wipe_zeroes_in_place_and_lock_leaves_no_usable_key(new_store):
    store, _ = new_store
    data_key, audit_key = store._data_key, store._audit_key
    assert any(data_key)
    assert any(audit_key)
    store.lock()
    assert data_key == bytes(keys.KEY_BYTES)
    assert audit_key == bytes(keys.KEY_BYTES)
    assert store._data_key == store._audit_key == bytearray()  # no 32 bytes to open anything with
