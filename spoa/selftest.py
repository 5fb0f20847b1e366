"""The self-test a packaged app runs to prove it works on this machine (``spoa self-test``,
``spoa-desk --self-test``).

With no display and on synthetic data only, it makes a temporary encrypted store, proves the
records are encrypted on disk, runs every built-in rule module's vignettes, finds the letter
fonts and texts, makes one letter of each kind through the same desk operations a user
performs and reads each back, and verifies the audit chain. Each check is reported on a line
of its own and never stops the others; the run ends with 'N passed, M failed'.

It also checks the keyring the desk would really use on this computer: that it is one that
keeps secrets across a restart, and that it gives back a throwaway secret it was given (stored
under its own name, 'spoa-desk-selftest', and deleted at once). No keyring at all is reported,
not failed: the desk then offers to set up without one.

It leaves nothing behind: the temporary folder is removed (its store is not bound to the
keyring), and the data folder variable and the plugin switch are put back as they were. The
machine's data folder and installed plugins are never touched. No Qt, no test tools: the
frozen app has neither.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import keyring
import keyring.errors

from spoa import advice, desk
from spoa.letters import archive, directory, fonts, outbox, referrals
from spoa.letters.content import LetterKind
from spoa.letters.wording import LetterResourceError, default_letterhead_path, load_letterhead, load_wording
from spoa.model import ReferrerType
from spoa.paths import DATA_DIR_VARIABLE, builtin_rules_dir
from spoa.plugins import BUILTIN, NO_PLUGINS_VARIABLE
from spoa.roles import Role
from spoa.rules.catalog import discover, run_module_vignettes
from spoa.store.database import DATABASE_FILE, PLAIN_SQLITE_HEADER
from spoa.store.device import KeyringUnavailable, check_backend
from spoa.store.keys import MINIMUM_KDF
from spoa.store.records import ChildDraft, ContactDraft, get_child, get_contact
from spoa.store.store import Store
from spoa.synthetic import ROUTINE_ANSWERS

Report = Callable[[str], object]

# Synthetic people only. The accents prove the bundled fonts carry any name.
GIVEN_NAME = "Zoë"
FAMILY_NAME = "Ó Briain"
NHS_NUMBER = "999 876 5439"  # the 999 test range, valid check digit
ADMIN = ("selftest-admin", "Self-test Admin")
PRACTITIONER = ("selftest-pat", "Self-test Practitioner")
SUPERVISORS = (("selftest-sam", "Self-test Supervisor"), ("selftest-sky", "Self-test Second Supervisor"))
TRIAGE_MODULE = "camhs_general"
SELFTEST_KEYRING_SERVICE = "spoa-desk-selftest"
# Errors whose message names a file or a setting to fix, never a record: shown in full.
_SAFE_MESSAGES = (LetterResourceError, fonts.LetterFontError, directory.DirectoryFileError,
                  KeyringUnavailable)


class CheckFailed(Exception):
    """A check found something wrong; the message is the one-line reason (no patient data)."""


@dataclass(frozen=True)
class CheckResult:
    name: str  # "area: subject", e.g. "letters: outcome to referrer"
    passed: bool
    detail: str = ""  # what was proven, or the one-line reason it failed

    def line(self) -> str:
        said = f" — {self.detail}" if self.detail else ""
        return f"{'PASS' if self.passed else 'FAIL'}  {self.name}{said}"


@dataclass
class SelfTestResult:
    checks: list[CheckResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> int:
        return sum(1 for c in self.checks if c.passed)

    @property
    def failed(self) -> int:
        return sum(1 for c in self.checks if not c.passed)

    @property
    def ok(self) -> bool:
        return self.failed == 0 and bool(self.checks)

    def closing_line(self) -> str:
        return f"{self.passed} passed, {self.failed} failed"


def reason_of(exc: BaseException) -> str:
    """One line about an unexpected error: its type only (a message may hold data), except for
    resource errors, whose message names the file to restore."""
    if isinstance(exc, (CheckFailed, *_SAFE_MESSAGES)):
        text = " ".join(str(exc).split())
        return text if len(text) <= 300 else text[:297] + "..."
    return f"unexpected {type(exc).__name__}"


# -- the run -------------------------------------------------------------------------------------

def run(report: Report = print) -> SelfTestResult:
    """Run every check, reporting each line as it finishes and the closing line last."""
    started = time.monotonic()
    result = SelfTestResult()

    def record(name: str, passed: bool, detail: str) -> None:
        check = CheckResult(name, passed, detail)
        result.checks.append(check)
        report(check.line())

    try:
        with _sandbox() as folder:
            bench = _Bench(folder)
            try:
                _run_checks(bench, record)
            finally:
                bench.close()
    except Exception as exc:  # the sandbox itself could not be made or undone
        record("self-test: temporary workspace", False, reason_of(exc))
    result.seconds = time.monotonic() - started
    report(result.closing_line())
    return result


def main() -> int:
    """Entry point for ``spoa self-test`` and ``spoa-desk --self-test``: 0 when every check passed."""
    def say(line: str) -> None:
        if sys.stdout is not None:  # a windowed frozen app may have no console
            print(line, flush=True)

    return 0 if run(say).ok else 1


@contextlib.contextmanager
def _sandbox() -> Iterator[Path]:
    """A temporary folder as the data folder, no plugins; undone after."""
    saved_env = {name: os.environ.get(name) for name in (DATA_DIR_VARIABLE, NO_PLUGINS_VARIABLE)}
    try:
        with tempfile.TemporaryDirectory(prefix="spoa-selftest-") as temp:
            folder = Path(temp)
            (folder / "data").mkdir()
            os.environ[DATA_DIR_VARIABLE] = str(folder / "data")
            os.environ[NO_PLUGINS_VARIABLE] = "1"
            yield folder
    finally:
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _run_checks(bench: _Bench, record: Callable[[str, bool, str], None]) -> None:
    def check(name: str, body: Callable[[], str]) -> bool:
        try:
            detail = body()
        except Exception as exc:  # every failure is a line, never a traceback
            record(name, False, reason_of(exc))
            return False
        record(name, True, detail)
        return True

    check("keyring: the one this desk would use", _check_keyring)
    check("store: encrypted on disk, reopened with the password", lambda: _check_store(bench))
    check("resources: letter fonts", _check_fonts)
    check("resources: letter wording", lambda: f"read {load_wording().source}")
    check("resources: letterhead", _check_letterhead)
    check("resources: example directory", _check_example_directory)
    modules = _builtin_modules()
    if not modules:
        record("rules: built-in modules", False, f"no built-in rule module found in {builtin_rules_dir()}")
    for listing in modules:
        check(f"rules: {listing.id}", lambda listing=listing: _check_module(listing))
    hub_ready = check("letters: hub set up", lambda: _set_up_hub(bench))
    for title, kind, make in _LETTERS:
        def letter(make=make, kind=kind) -> str:
            if not hub_ready:
                raise CheckFailed("not made: the hub could not be set up (see above)")
            return _check_letter(bench, kind, make(bench))
        check(f"letters: {title}", letter)
    check("audit: hash chain", lambda: _check_audit(bench))


# -- the workspace every check shares -----------------------------------------------------------

class _Bench:
    """The temporary hub: one store, opened as each of its users."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.password = "selftest " + secrets.token_urlsafe(12)
        self.opened: dict[str, Store] = {}
        self._triage_module = None

    def admin(self) -> Store:
        """The admin's store, made now if the store check could not make it."""
        if ADMIN[0] not in self.opened:
            folder = self.folder / f"store-{len(list(self.folder.glob('store*')))}"
            store, _ = Store.init(folder, admin_username=ADMIN[0], admin_display_name=ADMIN[1],
                                  admin_password=self.password, use_keyring=False, kdf=MINIMUM_KDF)
            self.opened[ADMIN[0]] = store
        return self.opened[ADMIN[0]]

    def triage_module(self):
        """The shipped camhs_general module, which the letters' triage calls use."""
        if self._triage_module is None:
            self._triage_module = discover().get(TRIAGE_MODULE)
            if self._triage_module is None:
                raise CheckFailed(f"the built-in module {TRIAGE_MODULE} is missing or broken")
        return self._triage_module

    def as_user(self, username: str) -> Store:
        return self.opened[username]

    def sign_in(self, person: tuple[str, str], role: Role) -> Store:
        """`person` signed in; added by the admin first (and their temporary password changed,
        as at a first sign-in) if they are not a user yet."""
        username, display = person
        if username in self.opened:
            return self.opened[username]
        admin = self.admin()
        if username in [user.username for user in admin.users()]:
            store = Store.unlock(admin.folder, username, self.password)
        else:
            temporary = "temporary " + secrets.token_urlsafe(9)
            admin.add_user(username, display, role, temporary)
            store = Store.unlock(admin.folder, username, temporary)
            store.change_password(temporary, self.password)
        self.opened[username] = store
        return store

    def lock(self, username: str) -> None:
        self.opened.pop(username).lock()

    def close(self) -> None:
        for store in self.opened.values():
            with contextlib.suppress(Exception):
                store.lock()
        self.opened.clear()


def _child(family_name: str = FAMILY_NAME) -> ChildDraft:
    today = date.today()
    return ChildDraft(GIVEN_NAME, family_name, date_of_birth=date(today.year - 14, 1, 15),
                      nhs_number=NHS_NUMBER, postcode="ZZ1 1AA", school="Testtown Academy",
                      gp_practice="Test Surgery",
                      carers=[{"name": "Alex Carer", "relationship": "mother", "phone": "07700 900123"}])


def _contact(family_name: str = FAMILY_NAME) -> ContactDraft:
    return ContactDraft(referrer_type=ReferrerType.GP, referrer_name="Dr Test",
                        referrer_organisation="Test Surgery", referrer_contact="01632 960001",
                        consent={"status": "given", "given_by": "parent"}, child=_child(family_name))


# -- store ---------------------------------------------------------------------------------------

def _check_keyring() -> str:
    """The keyring a new store would be bound to: one that keeps secrets, and keeps this one."""
    try:
        backend = check_backend()
    except KeyringUnavailable as exc:
        return (f"none usable on this computer ({exc.detail}); the desk will offer to set up "
                "without one")
    name, probe = "probe-" + secrets.token_hex(8), secrets.token_urlsafe(24)
    try:
        keyring.set_password(SELFTEST_KEYRING_SERVICE, name, probe)
        kept = keyring.get_password(SELFTEST_KEYRING_SERVICE, name)
    except keyring.errors.KeyringError as exc:
        raise CheckFailed(f"{backend} refused a secret ({type(exc).__name__}): a store bound to it "
                          "could not be opened") from None
    finally:
        with contextlib.suppress(keyring.errors.KeyringError):
            keyring.delete_password(SELFTEST_KEYRING_SERVICE, name)
    if kept != probe:
        raise CheckFailed(f"{backend} did not give back the secret it was given: a store bound to it "
                          "could not be opened")
    return f"{backend} keeps a secret and gives it back"


def _check_store(bench: _Bench) -> str:
    marker = "Plaintextmarker" + "".join(secrets.choice("abcdefghijkmnpqrstuvwxyz") for _ in range(10))
    folder = bench.admin().folder
    cipher = bench.admin().db.execute("PRAGMA cipher_version").fetchone()
    if not cipher or not cipher[0]:
        raise CheckFailed("the database driver is not SQLCipher: records would not be encrypted")
    pat = bench.sign_in(PRACTITIONER, Role.PRACTITIONER)
    contact_id = desk.add_contact(pat, _contact(marker)).contact_id
    for username in list(bench.opened):
        bench.lock(username)  # every connection closed: everything is in the database file now
    database = (folder / DATABASE_FILE).read_bytes()
    if database.startswith(PLAIN_SQLITE_HEADER):
        raise CheckFailed("the database file starts with the plain SQLite header: it is not encrypted")
    for path in folder.iterdir():
        if path.is_file() and marker.encode("utf-8") in path.read_bytes():
            raise CheckFailed(f"a record was found in plain text in {path.name}")
    reopened = Store.unlock(folder, ADMIN[0], bench.password)
    bench.opened[ADMIN[0]] = reopened
    reopened = bench.sign_in(PRACTITIONER, Role.PRACTITIONER)
    child = get_child(reopened.db, get_contact(reopened.db, contact_id).child_id)
    if child.family_name != marker:
        raise CheckFailed("the record read back after unlocking is not the one written")
    return f"SQLCipher {cipher[0]}"


# -- resources -----------------------------------------------------------------------------------

def _check_fonts() -> str:
    names = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")
    missing = [name for name in names if not (fonts.fonts_dir() / name).is_file()]
    if missing:
        raise CheckFailed(f"missing from {fonts.fonts_dir()}: {', '.join(missing)}; reinstall the desk")
    fonts.register_fonts()
    lacking = fonts.missing_glyphs(f"{GIVEN_NAME} {FAMILY_NAME} Łódź Ştefan Ωμέγα Юлия")
    if lacking:
        raise CheckFailed(f"the letter font has no glyph for {''.join(lacking)!r}")
    return "DejaVu Sans regular and bold, accented names"


def _check_letterhead() -> str:
    path = default_letterhead_path()
    letterhead = load_letterhead(path)
    return f"read {path} and its logo {letterhead.logo.name}"


def _check_example_directory() -> str:
    path = directory.example_directory_path()
    checked = directory.read_directory_file(path)
    if checked.problems or not checked.services:
        raise CheckFailed(f"{path} has {len(checked.problems)} problem(s) and {len(checked.services)} "
                          "good services; reinstall the desk")
    return f"{len(checked.services)} services in {path.name}"


# -- rules ---------------------------------------------------------------------------------------

def _builtin_modules() -> list:
    return [listing for listing in discover().listings if listing.source == BUILTIN]


def _check_module(listing) -> str:
    if not listing.ok:
        first = listing.problems[0] if listing.problems else "unknown problem"
        raise CheckFailed(f"the module is broken: {first}")
    results, gaps = run_module_vignettes(listing.module)
    if not results:
        raise CheckFailed("the module has no vignettes")
    failed = [r.vignette.id for r in results if not r.passed]
    if failed:
        raise CheckFailed(f"{len(failed)} of {len(results)} vignettes failed: {', '.join(failed)}")
    if gaps:
        raise CheckFailed(f"{len(gaps)} outcome rule(s) or flag(s) no vignette reaches: {gaps[0]}")
    return f"{listing.module.version}, {len(results)} vignettes"


# -- letters -------------------------------------------------------------------------------------

def _set_up_hub(bench: _Bench) -> str:
    """The example directory and the people a referral needs: a practitioner drafts, a
    supervisor who did not draft approves (four eyes)."""
    admin = bench.admin()
    imported = directory.import_file(admin, directory.example_directory_path())
    bench.sign_in(PRACTITIONER, Role.PRACTITIONER)
    for supervisor in SUPERVISORS:
        bench.sign_in(supervisor, Role.SUPERVISOR)
    return f"{imported.imported} directory services, a practitioner and two supervisors"


def _decided(bench: _Bench, override: tuple[str, str] | None = None) -> str:
    """A triage call on camhs_general, confirmed (school nursing) or overridden to `override`."""
    pat = bench.as_user(PRACTITIONER[0])
    added = desk.add_contact(pat, _contact(), module=bench.triage_module(), answers=ROUTINE_ANSWERS)
    session_id = added.triage.session_id
    if override:
        desk.override_outcome(pat, session_id, *override, "Self-test: a clinical view")
    else:
        desk.confirm_outcome(pat, session_id)
    return session_id


def _approved_referral(bench: _Bench, override: tuple[str, str] | None = None) -> str:
    pat, sam = bench.as_user(PRACTITIONER[0]), bench.as_user(SUPERVISORS[0][0])
    session_id = _decided(bench, override)
    choices = referrals.service_choices(pat, session_id)
    if not choices.matches:
        raise CheckFailed(f"no service in the example directory takes it: {choices.message}")
    referral = referrals.create_referral(pat, session_id, choices.matches[0].service.id,
                                         reason="Self-test referral")
    referrals.submit(pat, referral.id)
    referrals.approve(sam, referral.id)
    return referral.id


def _referral_letter(override: tuple[str, str] | None) -> Callable[[_Bench], archive.IssuedLetter]:
    def make(bench: _Bench) -> archive.IssuedLetter:
        referral_id = _approved_referral(bench, override)
        return archive.make_referral_letter(bench.as_user(PRACTITIONER[0]), referral_id)
    return make


def _outcome_letter(bench: _Bench) -> archive.IssuedLetter:
    pat = bench.as_user(PRACTITIONER[0])
    referral_id = _approved_referral(bench)
    sent = bench.folder / "sent"
    sent.mkdir(exist_ok=True)
    outbox.send_referral(pat, referral_id, outbox.FolderTransport(sent))
    return archive.make_outcome_letter(pat, referral_id)


def _not_accepted_letter(bench: _Bench) -> archive.IssuedLetter:
    session_id = _decided(bench, ("advice", "routine"))
    return archive.make_not_accepted_letter(
        bench.as_user(SUPERVISORS[1][0]), session_id, reasons=["Needs are met by the school's support"],
        signposting=["Online counselling for young people"])


def _advice_letter(bench: _Bench) -> archive.IssuedLetter:
    pat, sam = bench.as_user(PRACTITIONER[0]), bench.as_user(SUPERVISORS[0][0])
    request = advice.record_request(
        pat, advice.AdviceDraft(question="Should we try a sleep diary before referring?",
                                context="Poor sleep since the summer.", tried="Sleep hygiene leaflet.",
                                conversion_authorised=False),
        contact=_contact()).request
    advice.respond(sam, request.id, "Try a four-week sleep diary; refer if no better.")
    return archive.make_advice_letter(pat, request.id)


_LETTERS: tuple[tuple[str, LetterKind, Callable[[_Bench], archive.IssuedLetter]], ...] = (
    ("referral to CAMHS", LetterKind.REFERRAL_CAMHS, _referral_letter(("camhs", "routine"))),
    ("referral to school nursing", LetterKind.REFERRAL_SCHOOL_NURSING, _referral_letter(None)),
    ("referral to the voluntary sector", LetterKind.REFERRAL_VOLUNTARY_SECTOR,
     _referral_letter(("voluntary_sector", "routine"))),
    ("advice response", LetterKind.ADVICE_RESPONSE, _advice_letter),
    ("outcome to referrer", LetterKind.OUTCOME_TO_REFERRER, _outcome_letter),
    ("not accepted", LetterKind.NOT_ACCEPTED, _not_accepted_letter),
)


def _check_letter(bench: _Bench, kind: LetterKind, letter: archive.IssuedLetter) -> str:
    """Read the letter back as kept: its bytes, its hash, recognised as issued, and its text."""
    if letter.kind is not kind:
        raise CheckFailed(f"made a {letter.kind.value} letter instead")
    db = bench.as_user(PRACTITIONER[0]).db
    data = archive.letter_pdf(db, letter.id)
    if hashlib.sha256(data).hexdigest() != letter.sha256 or len(data) != letter.size:
        raise CheckFailed("the stored letter does not match its recorded sha256")
    found = archive.verify_letter_bytes(db, data)
    if not found.issued or found.letter.id != letter.id:
        raise CheckFailed("the stored letter is not recognised as issued by this hub")
    foreign = sorted({name for name in _BASE_FONT.findall(data) if not name.startswith(_BUNDLED_FONT)})
    if foreign:
        raise CheckFailed(f"the PDF uses fonts that are not the bundled ones: {b', '.join(foreign).decode()}")
    pages, text = pdf_text(data)
    expected = {"the child's name": f"{GIVEN_NAME} {FAMILY_NAME}" in text,
                "the confidential marking": "confidential" in text.casefold(),
                "the page numbers": "Page 1 of" in text}
    absent = [what for what, present in expected.items() if not present]
    if absent:
        raise CheckFailed(f"the PDF text lacks {', '.join(absent)}")
    return f"{pages} page{'s' if pages != 1 else ''}, read back and recognised as issued"


# ReportLab names each embedded subset "AAAAAA+DejaVuSans"; a base-14 fallback is "/Helvetica".
_BASE_FONT = re.compile(rb"/BaseFont\s*/(?:[A-Z]{6}\+)?([A-Za-z0-9\-]+)")
_BUNDLED_FONT = b"DejaVuSans"


def pdf_text(data: bytes) -> tuple[int, str]:
    """The page count and the text of a PDF (PDFium, as the desk's preview uses), NFC with
    whitespace collapsed, so a name broken across lines still reads as typed."""
    import pypdfium2 as pdfium  # loaded only here: the CLI's other commands do not need it

    document = pdfium.PdfDocument(data)
    try:
        parts = []
        for index in range(len(document)):
            page = document[index]
            textpage = page.get_textpage()
            parts.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return len(document), " ".join(unicodedata.normalize("NFC", "\n".join(parts)).split())
    finally:
        document.close()


# -- audit ---------------------------------------------------------------------------------------

def _check_audit(bench: _Bench) -> str:
    report = bench.admin().verify_audit()
    if not report.intact:
        raise CheckFailed(f"the audit chain breaks at entry {report.first_bad} of {report.count}")
    return f"{report.count} entries verified"
