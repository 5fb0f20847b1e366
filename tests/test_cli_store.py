"""spoa init / user / audit verify / rekey / recover, driven as an administrator would."""

import io
import re

import pytest

from spoa.cli import main
from spoa.store.keys import MINIMUM_KDF
from tests.conftest import ADMIN_PASSWORD


@pytest.fixture
def cli(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr("spoa.cli.store.calibrate", lambda: MINIMUM_KDF)  # speed, not strength
    folder = tmp_path / "data"
    monkeypatch.setenv("SPOA_DATA_DIR", str(folder))

    def run(*args, user=None, password=None, new_password=None, stdin=None):
        for name, value in (("SPOA_USER", user), ("SPOA_PASSWORD", password),
                            ("SPOA_NEW_PASSWORD", new_password)):
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin or ""))
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    run.folder = folder
    return run


def init(cli):
    code, out, err = cli("init", "--display-name", "Ada Admin", user="admin", password=ADMIN_PASSWORD)
    assert code == 0, err
    return re.search(r"^    ([A-Z0-9]{5}(?:-[A-Z0-9]{5}){4})$", out, re.M).group(1)


def test_init_prints_the_recovery_code_once_and_refuses_twice(cli):
    code = init(cli)
    assert code not in (cli.folder / "keyslots.json").read_text()
    again, _, err = cli("init", user="admin", password=ADMIN_PASSWORD)
    assert again == 2
    assert "already holds a store" in err


def test_user_lifecycle(cli):
    init(cli)
    code, out, _ = cli("user", "add", "pat", "--role", "practitioner", "--display-name", "Pat P",
                       user="admin", password=ADMIN_PASSWORD)
    temporary = out.split("Temporary password: ")[1].split()[0]
    assert code == 0
    # a temporary password opens only 'user passwd'
    code, _, err = cli("audit", "verify", user="pat", password=temporary)
    assert code == 2
    assert "temporary" in err
    code, out, err = cli("user", "passwd", user="pat", password=temporary,
                         new_password="my own secret phrase")
    assert code == 0, err
    code, out, _ = cli("user", "list", user="admin", password=ADMIN_PASSWORD)
    assert re.search(r"^pat\s+practitioner\s+active\s+Pat P$", out, re.M)
    # a practitioner may not manage users or read the audit trail
    code, _, err = cli("user", "list", user="pat", password="my own secret phrase")
    assert code == 2
    assert "practitioner cannot manage users" in err
    code, _, _ = cli("user", "deactivate", "pat", user="admin", password=ADMIN_PASSWORD)
    assert code == 0
    code, _, err = cli("audit", "verify", user="pat", password="my own secret phrase")
    assert code == 2
    assert "Unlock failed" in err


def test_audit_verify_rekey_and_password_stdin(cli):
    init(cli)
    code, out, _ = cli("audit", "verify", "--password-stdin", user="admin", stdin=ADMIN_PASSWORD + "\n")
    assert code == 0
    assert out.startswith("intact: ")
    code, out, _ = cli("rekey", user="admin", password=ADMIN_PASSWORD)
    assert code == 0
    assert "still work" in out
    code, out, _ = cli("audit", "verify", user="admin", password=ADMIN_PASSWORD)
    assert code == 0


def test_wrong_password_and_missing_store_are_messages(cli):
    code, _, err = cli("audit", "verify", user="admin", password=ADMIN_PASSWORD)
    assert code == 2
    assert "There is no store" in err
    init(cli)
    code, _, err = cli("audit", "verify", user="admin", password="wrong password")
    assert code == 2
    assert err.strip() == "spoa: Unlock failed: the username or password is not right."
    code, _, err = cli("audit", "verify", user="admin")  # no password and no terminal
    assert code == 2
    assert "SPOA_PASSWORD" in err


def test_recover_after_a_lost_keyring(cli, memory_keyring, monkeypatch):
    recovery = init(cli)
    memory_keyring.secrets.clear()
    code, _, err = cli("audit", "verify", user="admin", password=ADMIN_PASSWORD)
    assert code == 2
    assert "recovery code" in err
    monkeypatch.setenv("SPOA_RECOVERY_CODE", recovery.lower())
    code, out, err = cli("recover")
    assert code == 0, err
    temporary = out.split(": ")[-1].strip()
    code, _, err = cli("user", "passwd", user="admin", password=temporary,
                       new_password="a brand new secret phrase")
    assert code == 0, err
    code, out, _ = cli("audit", "verify", user="admin", password="a brand new secret phrase")
    assert code == 0


def test_init_can_say_where_letters_go_and_a_supervisor_can_change_it(cli, tmp_path):
    outbox_folder = tmp_path / "outbox"
    missing, _, err = cli("init", "--outbox-folder", str(tmp_path / "not-there"), user="admin",
                          password=ADMIN_PASSWORD)
    assert missing == 2
    assert "is not there" in err
    assert "Nothing was created." in err
    assert not (cli.folder / "keyslots.json").exists()

    outbox_folder.mkdir()
    code, out, err = cli("init", "--outbox-folder", str(outbox_folder), user="admin", password=ADMIN_PASSWORD)
    assert code == 0, err
    assert f"Letters are saved to {outbox_folder}." in out
    assert "Letters cannot leave yet" not in err
    # Afterwards it is a supervisor's decision, never an administrator's.
    refused, _, err = cli("outbox", "folder", str(tmp_path), user="admin", password=ADMIN_PASSWORD)
    assert refused != 0
    assert "Traceback" not in err


def test_init_without_an_outbox_says_letters_cannot_leave_yet(cli):
    code, _, err = cli("init", user="admin", password=ADMIN_PASSWORD)
    assert code == 0
    assert "Letters cannot leave yet: a supervisor sets where they go ('spoa outbox folder PATH'" in err
