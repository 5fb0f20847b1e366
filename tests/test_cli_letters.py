"""Every letter kind made from the command line, as people would: an advice request answered
by a supervisor, one converted into a referral (only where authorised), referrals to CAMHS,
school nursing and the voluntary sector, the outcome letter to the referrer and a
not-accepted letter; each file verified with ``spoa letter verify`` and queued with
``spoa outbox queue``. What a role may not do ends with exit 2."""

from __future__ import annotations

import io
import re
import unicodedata

import yaml
from pypdf import PdfReader

from tests.world import DIRECTORY_CSV, HOSTILE, ROUTINE_ANSWERS

QUESTION = "Sleep diary first, or refer now? " + HOSTILE
ADVICE = "Try a four-week sleep diary; refer if no better. " + HOSTILE
CHILD = {"given_name": "Zoë", "family_name": "Letterchild", "date_of_birth": "2012-03-04",
         "nhs_number": "999 876 5439", "postcode": "ZZ1 1AA", "school": "Testtown Academy"}
# professional_advice answers that make an urgent CAMHS referral (authorised, family agrees).
REFERRAL_ANSWERS = {
    "now_harm": "no", "now_acted": "no", "now_means": "no", "now_with_child": "no",
    "requester_role": "school_nurse", "concern_category": "self_harm", "concern_level": "severe",
    "tried_already": ["school_support", "counselling"], "response_to_help": "no_change",
    "risk_noticed": "yes", "risk_self_harm": "yes", "risk_suicidal_plan": "no", "risk_safeguarding": "no",
    "family_consent": "consent_given",
}


def write_yaml(path, data: dict):
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def advice_file(tmp_path, name: str, **extra):
    return write_yaml(tmp_path / f"{name}.yaml", {
        "requester": {"type": "school_nurse", "name": "Jo Nurse", "organisation": "Testtown School Nursing"},
        "child": CHILD, "received_at": "2026-11-20T09:00:00Z", "consent": {"status": "given"},
        "question": QUESTION, "context": "Poor sleep since the summer.", "tried": "Sleep hygiene leaflet.",
        **extra})


def contact_file(tmp_path, name: str, answers: dict):
    return write_yaml(tmp_path / f"{name}.yaml", {
        "child": CHILD, "referrer": {"type": "gp", "name": "Dr Test", "organisation": "Test Surgery"},
        "received_at": "2026-11-20T09:00:00Z", "consent": {"status": "given", "given_by": "parent"},
        "module": "camhs_general", "answers": answers})


def found(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match, (pattern, text)
    return match.group(1)


def pdf_text(path) -> str:
    text = "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(path.read_bytes())).pages)
    return " ".join(unicodedata.normalize("NFC", text).split())


def flat(text: str) -> str:
    return " ".join(text.split())


def test_every_letter_kind_from_the_command_line(spoa, tmp_path):
    directory_file = tmp_path / "directory.csv"
    directory_file.write_text(DIRECTORY_CSV, encoding="utf-8")
    assert spoa("admin", "directory", "import", directory_file)[0] == 0
    drop = tmp_path / "drop"
    drop.mkdir()
    made = {}  # letter kind -> (file, what verify names)

    def verify(kind: str, path, belongs_to: str) -> str:
        code, out, err = spoa("pat", "letter", "verify", path)
        assert code == 0, err
        assert f"({kind.replace('_', ' ')}) issued by this hub" in out
        assert f"for {belongs_to}" in out
        made[kind] = path
        return found(r"is letter (lt-[0-9a-f]+)", out)

    # -- advice: asked, answered by a supervisor, the letter made, verified and queued --------
    code, _, err = spoa("pat", "advice", "add", "--file",
                        advice_file(tmp_path, "bad", requester={"type": "parent", "name": "A Parent"}))
    assert code == 2
    assert re.search(r"bad\.yaml:\d+: requester\.type: an advice request comes from a professional", err)
    code, out, err = spoa("pat", "advice", "add", "--file", advice_file(tmp_path, "advice", how_soon="today"))
    assert code == 0, err
    request = found(r"Advice request (ad-[0-9a-f]+) stored", out)
    assert "reply by 2026-11-21 09:00 UTC" in out
    code, out, _ = spoa("pat", "advice", "list", "--awaiting")
    assert request in out
    assert "awaiting response" in out
    answer = tmp_path / "advice.txt"
    answer.write_text(ADVICE + "\n", encoding="utf-8")
    code, _, err = spoa("pat", "advice", "respond", request, "--text-file", answer)
    assert code == 2
    assert "A practitioner cannot record a specialist's advice" in err
    code, out, err = spoa("sam", "advice", "respond", request, "--text-file", answer)
    assert code == 0, err
    assert spoa("pat", "advice", "list", "--awaiting")[1] == "no advice requests awaiting a response\n"
    code, _, err = spoa("pat", "advice", "convert", request, "--service", "camhs-core", "--reason", "x")
    assert code == 2
    assert "did not authorise converting" in err
    advice_pdf = tmp_path / "advice.pdf"
    code, _, err = spoa("pat", "letter", "make", "--advice", request, "--out", advice_pdf)
    assert code == 2
    assert "cannot export letters" in err
    code, out, err = spoa("sam", "letter", "make", "--advice", request, "--out", advice_pdf)
    assert code == 0, err
    assert f"of advice request {request} written to" in out
    advice_letter = verify("advice_response", advice_pdf, f"advice request {request}")
    text = pdf_text(advice_pdf)
    assert flat(QUESTION) in text
    assert flat(ADVICE) in text
    assert "Jo Nurse" in text
    code, out, _ = spoa("pat", "advice", "show", request)
    assert "advice letter issued" in out
    assert advice_letter in out
    code, out, err = spoa("pat", "outbox", "queue", advice_letter, "--folder", drop)
    assert code == 0, err
    assert " sent at " in out
    assert [p.read_bytes() for p in drop.iterdir()] == [advice_pdf.read_bytes()]
    code, _, err = spoa("pat", "outbox", "queue", advice_letter, "--folder", drop)
    assert code == 2
    assert "already in the outbox" in err

    # -- an authorised request converted into a CAMHS referral, approved, sent ------------------
    code, out, err = spoa("pat", "advice", "add", "--file", advice_file(
        tmp_path, "authorised", conversion_authorised=True, module="professional_advice",
        answers=REFERRAL_ANSWERS))
    assert code == 0, err
    assert "CAMHS, urgent [recommended]" in out
    authorised = found(r"Advice request (ad-[0-9a-f]+) stored", out)
    code, out, err = spoa("pat", "advice", "convert", authorised, "--service", "camhs-core")
    assert code == 0, err
    assert "its triage outcome confirmed" in out
    camhs = found(r"converted into referral (rf-[0-9a-f]+)", out)
    assert spoa("pat", "referral", "submit", camhs)[0] == 0
    assert spoa("sam", "referral", "approve", camhs)[0] == 0
    camhs_pdf = tmp_path / "camhs.pdf"
    code, _, err = spoa("sam", "letter", "make", camhs, "--out", camhs_pdf)
    assert code == 0, err
    verify("referral_camhs", camhs_pdf, f"referral {camhs}")
    assert spoa("pat", "outbox", "send", camhs, "--folder", drop)[0] == 0
    outcome_pdf = tmp_path / "outcome.pdf"
    code, out, err = spoa("sam", "letter", "make", camhs, "--kind", "outcome", "--out", outcome_pdf)
    assert code == 0, err
    verify("outcome_to_referrer", outcome_pdf, f"referral {camhs}")
    assert "Test CAMHS" in pdf_text(outcome_pdf)

    # -- school nursing (the recommendation confirmed) and the voluntary sector (overridden) -----
    for service, kind, decide in (
            ("school-nursing", "referral_school_nursing", ("confirm",)),
            ("open-door", "referral_voluntary_sector",
             ("override", "--route", "voluntary_sector", "--urgency", "routine", "--reason", "Prefers it"))):
        code, out, err = spoa("pat", "contact", "add", "--file",
                              contact_file(tmp_path, service, ROUTINE_ANSWERS))
        assert code == 0, err
        session = found(r"Triage session (ts-[0-9a-f]+)", out)
        assert spoa("pat", "referral", decide[0], session, *decide[1:])[0] == 0
        code, out, err = spoa("pat", "referral", "create", session, "--service", service)
        assert code == 0, err
        referral = found(r"Referral (rf-[0-9a-f]+)", out)
        assert spoa("pat", "referral", "submit", referral)[0] == 0
        assert spoa("sam", "referral", "approve", referral)[0] == 0
        path = tmp_path / f"{service}.pdf"
        code, _, err = spoa("sam", "letter", "make", referral, "--out", path)
        assert code == 0, err
        verify(kind, path, f"referral {referral}")

    # -- not accepted: the reasons and where else to get help ------------------------------------
    code, out, err = spoa("pat", "contact", "add", "--file",
                          contact_file(tmp_path, "declined", ROUTINE_ANSWERS))
    assert code == 0, err
    contact = found(r"Contact (co-[0-9a-f]+) stored", out)
    session = found(r"Triage session (ts-[0-9a-f]+)", out)
    refused_pdf = tmp_path / "not-accepted.pdf"
    not_accepted = ("letter", "make", "--not-accepted", contact, "--out", refused_pdf)
    code, _, err = spoa("sam", *not_accepted, "--reason", "Needs met at school")
    assert code == 2
    assert "no confirmed or overridden triage outcome yet" in err
    assert spoa("pat", "referral", "override", session, "--route", "advice", "--urgency", "routine",
                 "--reason", "Advice is enough")[0] == 0
    code, _, err = spoa("pat", *not_accepted, "--reason", "Needs met at school")
    assert code == 2
    assert "A practitioner cannot approve" in err
    code, _, err = spoa("sam", *not_accepted)
    assert code == 2
    assert "at least one --reason" in err
    reason, signposts = "Needs met at school " + HOSTILE, ("Kooth online counselling", "Young Minds drop-in")
    code, out, err = spoa("sam", *not_accepted, "--reason", reason, "--signpost", signposts[0],
                          "--signpost", signposts[1], "--omit", "carers")
    assert code == 0, err
    refused = verify("not_accepted", refused_pdf, f"contact {contact}")
    text = pdf_text(refused_pdf)
    for expected in (reason, *signposts):
        assert flat(expected) in text, expected
    code, out, err = spoa("pat", "outbox", "queue", refused, "--folder", drop)
    assert code == 0, err

    assert set(made) == {"advice_response", "referral_camhs", "outcome_to_referrer",
                         "referral_school_nursing", "referral_voluntary_sector", "not_accepted"}
    for path in made.values():
        assert b"/URI" not in path.read_bytes()
    code, out, _ = spoa("pat", "outbox", "list")
    assert out.count(" sent at ") == 3  # the advice letter, the CAMHS referral, the not-accepted letter


def test_letter_make_says_which_letter_it_needs(spoa, tmp_path):
    out_file = tmp_path / "x.pdf"
    for args, words in (
            ((), "say which letter"),
            (("rf-1", "--advice", "ad-1"), "say which letter"),
            (("--advice", "ad-1", "--kind", "outcome"), "--kind goes with a referral id"),
            (("--advice", "ad-1", "--reason", "r"), "--reason and --signpost go with --not-accepted"),
            (("rf-1", "--omit", "carers"), "chosen when it is drafted")):
        code, _, err = spoa("sam", "letter", "make", *args, "--out", out_file)
        assert code == 2, args
        assert words in err, (args, err)
    code, _, err = spoa("sam", "letter", "make", "--advice", "ad-missing", "--out", tmp_path / "no" / "x.pdf")
    assert code == 2
    assert "no such folder" in err
    code, _, err = spoa("sam", "letter", "make", "--advice", "ad-missing", "--out", out_file)
    assert code == 2
    assert "no advice request with the id 'ad-missing'" in err
    code, _, err = spoa("pat", "outbox", "queue", "lt-missing", "--folder", tmp_path)
    assert code == 2
    assert "no letter with the id 'lt-missing'" in err
    assert not out_file.exists()
