"""``spoa referral|letter|outbox`` driven as people would: a practitioner decides and drafts,
a supervisor returns, approves and exports, letters are verified, the outbox sends to a
folder and (once the server is up) by SMTP; what a role may not do ends with exit 2."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import yaml

from tests.test_outbox import SMTP_PASSWORD, SMTP_USER, certificate, free_port, smtp_server  # noqa: F401
from tests.world import DIRECTORY_CSV, EMERGENCY_ANSWERS, ROUTINE_ANSWERS


def contact_file(tmp_path, name: str, answers: dict):
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({
        "child": {"given_name": "Zoë", "family_name": "Clichild", "date_of_birth": "2012-03-04",
                  "nhs_number": "999 876 5439", "postcode": "ZZ1 1AA", "school": "Testtown Academy"},
        "referrer": {"type": "gp", "name": "Dr Test", "organisation": "Test Surgery"},
        "received_at": "2026-11-20T09:00:00Z",
        "consent": {"status": "given", "given_by": "parent"},
        "module": "camhs_general",
        "answers": answers,
    }, allow_unicode=True), encoding="utf-8")
    return path


def session_of(out: str) -> str:
    return re.search(r"Triage session (ts-[0-9a-f]+)", out).group(1)


def referral_of(out: str) -> str:
    return re.search(r"Referral (rf-[0-9a-f]+)", out).group(1)


def test_a_supervisor_who_edited_a_referral_cannot_approve_it_from_the_command_line(spoa, staffed_store,
                                                                                   tmp_path):
    """Issue 12, item 10. There is no command to edit a referral; the desk's own function
    does it here, as the desk does."""
    from spoa.letters import referrals

    directory_file = tmp_path / "directory.csv"
    directory_file.write_text(DIRECTORY_CSV, encoding="utf-8")
    assert spoa("admin", "directory", "import", directory_file)[0] == 0
    code, out, err = spoa("pat", "contact", "add", "--file",
                          contact_file(tmp_path, "routine", ROUTINE_ANSWERS))
    assert code == 0, err
    session = session_of(out)
    assert spoa("pat", "referral", "override", session, "--route", "camhs", "--urgency", "routine",
                "--reason", "Clinical view")[0] == 0
    code, out, err = spoa("pat", "referral", "create", session, "--service", "camhs-core",
                          "--reason", "Low mood")
    assert code == 0, err
    referral = referral_of(out)
    with staffed_store("sam") as sam:
        referrals.update_referral(sam, referral, reason="Low mood; not sleeping.")
    assert spoa("pat", "referral", "submit", referral)[0] == 0

    code, out, err = spoa("sam", "referral", "approve", referral, "--note", "OK")

    assert code == 2
    assert "Traceback" not in err
    assert f"You edited referral {referral}, so another supervisor must approve it" in err
    code, out, _ = spoa("pat", "referral", "show", referral)
    assert code == 0
    assert "awaiting approval" in out
    assert re.search(r"edited +sam: changed: reason", out)


def test_referral_letter_and_outbox_commands(spoa, tmp_path, smtp_server, certificate):  # noqa: F811
    directory_file = tmp_path / "directory.csv"
    directory_file.write_text(DIRECTORY_CSV, encoding="utf-8")
    assert spoa("admin", "directory", "import", directory_file)[0] == 0

    # A routine call, overridden to CAMHS, drafted, returned, changed and approved.
    routine_file = contact_file(tmp_path, "routine", ROUTINE_ANSWERS)
    code, out, err = spoa("pat", "contact", "add", "--file", routine_file)
    assert code == 0, err
    routine = session_of(out)
    code, out, err = spoa("pat", "referral", "create", routine, "--service", "camhs-core")
    assert code == 2
    assert "has not been confirmed or overridden yet" in err
    code, out, err = spoa("pat", "referral", "override", routine, "--route", "camhs", "--urgency", "routine",
                          "--reason", "Clinical view")
    assert code == 0, err
    assert "overridden to CAMHS, routine" in out
    code, out, _ = spoa("pat", "referral", "services", routine)
    assert code == 0
    assert "camhs-core  Test CAMHS (Getting Help)" in out
    code, out, err = spoa("pat", "referral", "create", routine, "--service", "camhs-crisis")
    assert code == 2
    assert "does not take routine referrals" in err
    code, out, err = spoa("pat", "referral", "create", routine, "--service", "camhs-core",
                          "--reason", "Low mood <b>", "--omit", "carers")
    assert code == 0, err
    referral = referral_of(out)
    assert spoa("pat", "referral", "submit", referral)[0] == 0
    code, _, err = spoa("pat", "referral", "approve", referral)
    assert code == 2
    assert "A practitioner cannot approve or return referrals" in err
    code, out, _ = spoa("sam", "referral", "return", referral, "--reason", "Add what school tried")
    assert code == 0
    assert out == f"Referral {referral} returned.\n"  # the state is the verb: not said twice
    assert spoa("pat", "referral", "submit", referral)[0] == 0
    code, out, _ = spoa("sam", "referral", "approve", referral, "--note", "OK")
    assert code == 0
    assert out == f"Referral {referral} approved.\n"
    code, out, _ = spoa("pat", "referral", "show", referral)
    assert code == 0
    for expected in ("returned", "sam: Add what school tried", "approved", "left out     carers"):
        assert expected in out, expected

    # Letters: only a supervisor exports; verify says whose, or that it is not ours.
    letter = tmp_path / "letter.pdf"
    code, _, err = spoa("pat", "letter", "make", referral, "--out", letter)
    assert code == 2
    assert "cannot export letters" in err
    assert not letter.exists()
    code, out, err = spoa("sam", "letter", "make", referral, "--out", letter)
    assert code == 0, err
    code, out, _ = spoa("pat", "letter", "verify", letter)
    assert code == 0
    assert f"for referral {referral}" in out
    tampered = tmp_path / "tampered.pdf"
    data = bytearray(letter.read_bytes())
    data[100] ^= 0x20
    tampered.write_bytes(bytes(data))
    code, out, _ = spoa("pat", "letter", "verify", tampered)
    assert code == 1
    assert "NOT issued by this hub" in out
    assert spoa("pat", "letter", "verify", tmp_path / "missing.pdf")[0] == 2

    # Sent to a folder; a retry finds nothing to do.
    drop = tmp_path / "drop"
    drop.mkdir()
    code, out, err = spoa("pat", "outbox", "send", referral, "--folder", drop)
    assert code == 0, err
    assert " sent at " in out
    assert len(list(drop.iterdir())) == 1
    assert spoa("pat", "outbox", "retry") == (0, "nothing is queued\n", "")

    # An emergency sent at once by email while the server is down, then delivered once it is up.
    port = free_port()
    code, _, err = spoa("pat", "outbox", "send", referral, "--folder", drop)
    assert code == 2
    assert "is sent; it can only be sent when it is approved" in err
    code, _, err = spoa("pat", "outbox", "send", referral, "--email", "x@y.example")
    assert code == 2
    assert "Sending by email is not set up" in err
    spoa_smtp = ("outbox", "smtp", "--host", "127.0.0.1", "--port", port, "--from", "spa@hub.example",
                 "--smtp-user", SMTP_USER, "--cafile", certificate[0])
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SPOA_SMTP_PASSWORD", SMTP_PASSWORD)
        code, out, err = spoa("pat", *spoa_smtp)
        assert code == 2  # where letters are relayed is a supervisor's decision
        assert "A practitioner cannot change how letters are sent by secure email" in err
        code, out, err = spoa("sam", *spoa_smtp)
    assert code == 0, err
    emergency_file = contact_file(tmp_path, "emergency", EMERGENCY_ANSWERS)
    code, out, err = spoa("pat", "contact", "add", "--file", emergency_file)
    emergency = session_of(out)
    assert spoa("pat", "referral", "confirm", emergency)[0] == 0
    code, out, _ = spoa("pat", "referral", "create", emergency, "--service", "camhs-crisis")
    assert "may be sent now, before approval" in out
    urgent = referral_of(out)
    code, out, err = spoa("pat", "outbox", "send", urgent, "--email", "crisis@c.ex", "--before-review",
                          "--reason", "Crisis team phoned first")
    assert code == 0, err
    assert " queued " in out
    assert "connection refused" in out
    code, out, _ = spoa("pat", "referral", "list", "--review-pending")
    assert urgent in out
    assert "review pending" in out
    _, inbox = smtp_server(port)
    code, out, err = spoa("pat", "outbox", "retry")
    assert code == 0, err
    assert " sent at " in out
    (message,) = inbox.messages
    code, out, _ = spoa("pat", "outbox", "list", "--state", "sent")
    assert message["Message-ID"] in out
    assert spoa("pat", "referral", "review", urgent)[0] == 2
    assert spoa("sam", "referral", "review", urgent, "--note", "Agreed")[0] == 0

    # Overdue, counted at a given moment; batch export for supervisors only.
    code, out, _ = spoa("pat", "referral", "list", "--overdue", "--at", "2026-11-21T00:00:00Z")
    assert code == 0
    assert urgent in out
    assert "OVERDUE by" in out
    assert referral not in out  # sent: seen-by is 28 days away
    code, out, _ = spoa("pat", "referral", "list", "--overdue", "--at", "2026-11-20T09:30:00Z")
    assert out == "no overdue referrals\n"
    today = datetime.now(UTC).date().isoformat()
    code, _, err = spoa("pat", "outbox", "export-day", today, "--out", tmp_path / "batch")
    assert code == 2
    assert "cannot export letters" in err
    code, out, err = spoa("sam", "outbox", "export-day", today, "--out", tmp_path / "batch")
    assert code == 0, err
    assert out.startswith("The letter of the 1 referral approved on ")
    assert "letter(s)" not in out
    assert "1/1" in err
