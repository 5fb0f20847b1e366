"""``make screenshots``: every main screen of the desk, with synthetic data, as PNG files.

Runs offscreen (no display needed): builds the demo desk (ui/demo_desk.py) in a temporary
folder, signs in as whoever would use each screen, and saves each page to
docs/screenshots/<name>.png. Nothing here is real patient data.

    python -m ui.screenshots [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("SPOA_NO_PLUGINS", "1")

SIZE = (1360, 860)

# name, who, page key, how to pick what the page shows (from the demo desk), caption
SCREENS = (
    ("today", "pat", "today", None, "Today: open calls and referrals, most urgent first, with their clocks"),
    ("contacts", "pat", "contacts", None, "Contacts: every contact, searched in the encrypted store"),
    ("triage-call", "pat", "triage", "call",
     "A triage call: questions, live risk flags and the recommended outcome"),
    ("advice", "pat", "advice", "advice", "Advice requests from GPs and school nurses"),
    ("approval", "sam", "approval", "awaiting", "Awaiting approval: the letter previewed as it will be sent"),
    ("outbox", "sam", "outbox", None, "Outbox: each letter queued, sent or failed, with the reason"),
    ("directory", "admin", "directory", None, "The service directory"),
    ("rule-modules", "pat", "modules", None, "Rule modules with their sign-off status and vignettes"),
    ("users", "admin", "users", None, "Users and roles (administrators)"),
    ("audit", "admin", "audit", None, "The audit trail, verified"),
)


def _settle(app, session, seconds: float = 1.5, until: Callable[[], bool] | None = None) -> None:
    """Let queued store work finish and its results reach the widgets."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        session.wait()
        app.processEvents()
        if until is not None and until():
            break
        time.sleep(0.02)
    for _ in range(5):
        app.processEvents()


def _state_for(store, choice: str | None) -> dict:
    from spoa import advice
    from spoa.letters import referrals
    from spoa.store import records

    if choice == "call":
        for summary in records.list_contacts(store.db, limit=50):
            for session in records.triage_sessions_of(store.db, summary.contact_id):
                if session.decision is None:
                    return {"session_id": session.id}
    if choice == "awaiting":
        waiting = referrals.list_referrals(store, state="awaiting_approval")
        if waiting:
            return {"referral_id": waiting[0].id}
    if choice == "advice":
        requests = advice.list_requests(store)
        if requests:
            return {"request_id": requests[0].id}
    return {}


def _write_index(out: Path, shots: list[tuple[str, str]]) -> None:
    lines = ["# Screenshots", "",
             "Made by `make screenshots` (ui/screenshots.py) from a synthetic demo desk.", ""]
    for name, caption in shots:
        lines += [f"## {caption}", "", f"![{caption}]({name}.png)", ""]
    (out / "README.md").write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="spoa-screenshots-") as tmp:
        os.environ["SPOA_DATA_DIR"] = str(Path(tmp) / "data")
        from PySide6.QtWidgets import QApplication

        from ui.demo_desk import build
        from ui.session import DeskSession
        from ui.shell import MainWindow

        app = QApplication.instance() or QApplication([sys.argv[0]])
        demo = build(Path(tmp) / "store", Path(tmp) / "outbox")
        shots: list[tuple[str, str]] = []

        from ui.unlock import UnlockWindow

        session = DeskSession(demo.folder)
        unlock = UnlockWindow(session)
        unlock.resize(520, 360)
        unlock.show()
        _settle(app, session, 0.3)
        unlock.grab().save(str(out / "unlock.png"))
        shots.append(("unlock", "Unlock: each person signs in with their own password"))
        unlock.close()

        for name, who, key, choice, caption in SCREENS:
            session = DeskSession(demo.folder)
            store = demo.open_as(who)
            state = _state_for(store, choice)
            session.adopt(store)
            window = MainWindow(session, unlock_window=UnlockWindow(session))
            window.resize(*SIZE)
            window.show()
            _settle(app, session, 0.5)
            window.go_to(key, state)
            _settle(app, session, 3.0 if key in ("approval", "modules") else 1.5)
            window.grab().save(str(out / f"{name}.png"))
            shots.append((name, caption))
            window.close()
            session.lock()
            _settle(app, session, 0.1)
        _write_index(out, shots)
    print(f"{len(shots)} screenshots in {out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
