"""The parts of the triage call page (ui.pages.triage): details, questions, the live side
panel, the decision and the referral."""

from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtWidgets import QWidget


def while_alive(widget: QWidget, callback: Callable[[Any], None]) -> Callable[[Any], None]:
    """``callback`` for a store call's result, dropped if ``widget`` was destroyed meanwhile
    (the page closed while the call ran)."""

    def deliver(result: Any) -> None:
        if shiboken6.isValid(widget):
            callback(result)

    return deliver
