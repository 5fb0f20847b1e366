"""CANARY: 1,000 synthetic records carry a unique marker in every kind of text field, are
searched, changed and decided, then the store is closed. The marker must then appear
nowhere on disk: not in the database, its -wal or -shm, the data directory or the temp
directory, in UTF-8 or UTF-16, as typed or as folded for search; and no file there may be
a plaintext SQLite database."""

import os
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest

from spoa import desk
from spoa.model import ReferrerType
from spoa.rules.loading import load_module
from spoa.store.database import DATABASE_FILE, PLAIN_SQLITE_HEADER
from spoa.store.records import ChildDraft, ContactDraft
from tests.conftest import MINIMAL_MODULE

RECORDS = 1_000
LARGEST_FILE_SCANNED = 256 * 1024 * 1024


@pytest.fixture
def private_temp(tmp_path_factory, monkeypatch):
    """A temp directory of the test's own, set before any store opens, so everything the
    process writes to 'the temp directory' can be inspected; the system one is watched too."""
    system_temp = Path(tempfile.gettempdir())
    folder = tmp_path_factory.mktemp("temp")
    for variable in ("TMPDIR", "SQLITE_TMPDIR", "TEMP", "TMP"):
        monkeypatch.setenv(variable, str(folder))
    monkeypatch.setattr(tempfile, "tempdir", None)
    return folder, system_temp


@pytest.fixture
def store_folder(private_temp, private_data_dir):
    """The store lives in the data directory itself, as it does when the desk is installed."""
    return private_data_dir


def marker_forms(marker: str) -> list[bytes]:
    forms = []
    for text in {marker, marker.lower(), marker.casefold()}:
        for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
            forms.append(text.encode(encoding))
    return forms


def files_under(folder: Path, modified_since: float | None = None):
    for root, _, names in os.walk(folder, onerror=lambda error: None):
        for name in names:
            path = Path(root) / name
            try:
                if path.is_symlink() or not path.is_file():
                    continue
                info = path.stat()
            except OSError:
                continue
            if modified_since is not None and info.st_mtime < modified_since:
                continue
            if info.st_size <= LARGEST_FILE_SCANNED:
                yield path


def read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:  # another process's file, gone or not ours to read
        return b""


def test_no_patient_text_reaches_the_disk(private_temp, staffed_store, new_store, store_folder,
                                          private_data_dir, write_module):
    temp, system_temp = private_temp
    started = time.time() - 1
    marker = f"CanaryMarker{uuid.uuid4().hex.upper()}Zz"
    module = load_module(write_module(MINIMAL_MODULE))

    pat, sam = staffed_store("pat"), staffed_store("sam")
    try:
        added = []
        for number in range(RECORDS):
            child = ChildDraft(
                given_name=f"Child{number}{marker}", family_name=f"{marker}Family",
                date_of_birth=date(2008, 1, 1) + timedelta(days=number),
                nhs_number="999 876 5439" if number % 10 == 0 else None,
                address=f"{number} {marker} Street\nTesttown", postcode="SW1A 1AA",
                school=f"{marker} Academy", gp_practice=f"{marker} Practice",
                carers=[{"name": f"{marker} Carer", "relationship": "mother", "phone": f"07700 {marker}"}])
            draft = ContactDraft(
                referrer_type=ReferrerType.SCHOOL_NURSE, child=child, referrer_name=f"Nurse {marker}",
                referrer_organisation=f"{marker} Team", referrer_contact=f"{marker}@example.org",
                source_of_referral=f"{marker} line", consent={"status": "given", "notes": f"{marker} notes"})
            added.append(desk.add_contact(pat, draft, module=module,
                                          answers={"self_harm": "yes", "treated": "no",
                                                   "notes": f"Said: {marker}"}))
        assert len(desk.search_contacts(sam, f"{marker}family", limit=RECORDS)) == RECORDS
        assert added[10].possible_duplicates  # the same NHS number as child 0
        for item in added[:50]:
            desk.update_child(pat, item.child_id, {"school": f"{marker} Upper School"}, f"{marker} moved")
            desk.override_outcome(sam, item.triage.session_id, "camhs", "urgent", f"{marker} reason")
            desk.view_contact(sam, item.contact_id)
    finally:
        pat.lock()
        sam.lock()
        new_store[0].lock()  # the admin who set the store up: every connection is now closed

    forms = marker_forms(marker)
    scanned = set()
    plain_databases = []
    leaks = []
    for folder, since in ((store_folder, None), (private_data_dir, None), (temp, None),
                          (system_temp, started)):
        for path in files_under(folder, since):
            if path in scanned:
                continue
            scanned.add(path)
            data = read(path)
            leaks += [str(path) for form in forms if form in data]
            if since is None and data.startswith(PLAIN_SQLITE_HEADER):
                plain_databases.append(str(path))

    database = store_folder / DATABASE_FILE
    assert database in scanned
    assert database.stat().st_size > 1_000_000  # the records really are in there
    for companion in (DATABASE_FILE + "-wal", DATABASE_FILE + "-shm"):
        path = store_folder / companion
        assert not path.exists() or path in scanned
    assert leaks == []
    assert plain_databases == []


def test_the_scan_finds_what_it_looks_for(tmp_path):
    """The canary's own control: a marker in UTF-16 and a plaintext SQLite file are found."""
    import sqlite3

    marker = f"CanaryMarker{uuid.uuid4().hex.upper()}Zz"
    (tmp_path / "note.txt").write_bytes(marker.lower().encode("utf-16-le"))
    plain = sqlite3.connect(tmp_path / "plain.db")
    with plain:
        plain.execute("CREATE TABLE t (x)")
        plain.execute("INSERT INTO t VALUES (?)", [marker])
    plain.close()
    found = {path.name: [form for form in marker_forms(marker) if form in read(path)]
             for path in files_under(tmp_path)}
    assert found["note.txt"]
    assert found["plain.db"]
    assert read(tmp_path / "plain.db").startswith(PLAIN_SQLITE_HEADER)
