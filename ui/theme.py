"""How the desk looks: text size (100, 150 or 200 %) and an optional high-contrast theme.

Both apply to the whole application: the font is scaled from the size the platform gave
the app at start, so every widget built with layouts grows with it; the high-contrast
palette is black, white and yellow, with a thick focus outline for keyboard users.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

from spoa.settings import TEXT_SIZES

_BASE_SIZE = "spoaBasePointSize"

HIGH_CONTRAST_STYLE = """
*:focus { outline: 3px solid #ffff00; }
QPushButton, QToolButton { border: 2px solid #ffffff; padding: 4px 10px; }
QPushButton:focus, QToolButton:focus, QLineEdit:focus, QPlainTextEdit:focus, QListWidget:focus,
QTableView:focus, QComboBox:focus, QSpinBox:focus, QCheckBox:focus { border: 3px solid #ffff00; }
QPushButton:disabled { color: #9a9a9a; border-color: #9a9a9a; }
"""


def high_contrast_palette() -> QPalette:
    black, white, yellow, grey = QColor("#000000"), QColor("#ffffff"), QColor("#ffff00"), QColor("#9a9a9a")
    palette = QPalette()
    for role in (QPalette.ColorRole.Window, QPalette.ColorRole.Base, QPalette.ColorRole.AlternateBase,
                 QPalette.ColorRole.Button, QPalette.ColorRole.ToolTipBase):
        palette.setColor(role, black)
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText,
                 QPalette.ColorRole.ToolTipText, QPalette.ColorRole.BrightText):
        palette.setColor(role, white)
    palette.setColor(QPalette.ColorRole.Highlight, yellow)
    palette.setColor(QPalette.ColorRole.HighlightedText, black)
    palette.setColor(QPalette.ColorRole.Link, yellow)
    palette.setColor(QPalette.ColorRole.PlaceholderText, grey)
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, grey)
    return palette


def base_point_size(app: QApplication) -> float:
    """The font size the app started with (remembered the first time it is asked)."""
    stored = app.property(_BASE_SIZE)
    if stored:
        return float(stored)
    size = app.font().pointSizeF()
    if size <= 0:
        size = 10.0
    app.setProperty(_BASE_SIZE, size)
    return size


def apply_text_size(app: QApplication, percent: int) -> None:
    if percent not in TEXT_SIZES:
        raise ValueError(f"text size must be one of {TEXT_SIZES}")
    font = QFont(app.font())
    font.setPointSizeF(base_point_size(app) * percent / 100)
    app.setFont(font)


def text_size(app: QApplication) -> int:
    return round(app.font().pointSizeF() / base_point_size(app) * 100)


_ordinary: dict[str, QPalette] = {}


def apply_high_contrast(app: QApplication, on: bool) -> None:
    if on:
        if not is_high_contrast(app):
            _ordinary["palette"] = QPalette(app.palette())  # the platform's own, to go back to
        app.setPalette(high_contrast_palette())
        app.setStyleSheet(HIGH_CONTRAST_STYLE)
    elif is_high_contrast(app):
        app.setPalette(_ordinary.pop("palette", app.style().standardPalette()))
        app.setStyleSheet("")
    app.setProperty("spoaHighContrast", bool(on))


def is_high_contrast(app: QApplication) -> bool:
    return bool(app.property("spoaHighContrast"))


def apply_view(app: QApplication, text_size_percent: int, high_contrast: bool) -> None:
    """The view a person chose last time (spoa.settings.DeskSettings), before any window."""
    apply_text_size(app, text_size_percent)
    apply_high_contrast(app, high_contrast)
