"""A letter shown as its pages: PDF bytes rendered to images in memory, stacked in a
scroll area, with zoom.

The PDF is rendered by PDFium (pypdfium2) from the bytes in memory, never from a file: a
letter is patient data and must not land in a temporary folder. Rendering runs on the
session's worker thread and hands back plain pixel buffers; the images are made on the UI
thread. A newer request (another letter, a zoom, a clear) makes older results stale, so a
slow render never paints over what the user asked for since.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pypdfium2 as pdfium
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ui.session import DeskSession

ZOOMS = (50, 75, 100, 125, 150, 200)  # percent of the printed size at 96 dots per inch
DEFAULT_ZOOM = 100
_POINTS_PER_INCH = 72
_SCREEN_DPI = 96
# PDFium keeps global state: one render at a time, whichever thread asks.
_PDFIUM = threading.Lock()


@dataclass(frozen=True)
class RenderedPage:
    """One page as RGBX pixels (4 bytes a pixel, rows ``stride`` bytes apart)."""

    width: int
    height: int
    stride: int
    pixels: bytes


def render_pdf(data: bytes, scale: float) -> list[RenderedPage]:
    """Every page of a PDF held in memory, rendered at ``scale`` pixels per point."""
    with _PDFIUM:
        document = pdfium.PdfDocument(data)
        try:
            pages = []
            for index in range(len(document)):
                page = document[index]
                try:
                    bitmap = page.render(scale=scale, rev_byteorder=True, prefer_bgrx=True)
                    try:
                        pages.append(RenderedPage(bitmap.width, bitmap.height, bitmap.stride,
                                                  bytes(bitmap.buffer)))
                    finally:
                        bitmap.close()
                finally:
                    page.close()
            return pages
        finally:
            document.close()


def to_image(page: RenderedPage) -> QImage:
    """A QImage owning its pixels (made on the UI thread)."""
    image = QImage(page.pixels, page.width, page.height, page.stride, QImage.Format.Format_RGBX8888)
    return image.copy()  # detached from the Python buffer


class LetterPreview(QWidget):
    """``show_pdf(bytes)`` shows a letter's pages; ``clear()`` forgets the letter."""

    rendered = Signal(int)  # the number of pages now shown

    def __init__(self, session: DeskSession, what: str = "referral letter", parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.what = what
        self._pdf: bytes | None = None
        self._request = 0  # results of older requests are stale
        self._images: list[QImage] = []
        self._page_labels: list[QLabel] = []
        self.setAccessibleName("Letter preview")

        self.zoom = QComboBox()
        self.zoom.setAccessibleName("Zoom")
        self.zoom.setToolTip("Zoom the letter (Ctrl++ and Ctrl+-)")
        for percent in ZOOMS:
            self.zoom.addItem(f"{percent}%", percent)
        self.zoom.setCurrentIndex(ZOOMS.index(DEFAULT_ZOOM))
        self.zoom.currentIndexChanged.connect(self._zoom_changed)
        zoom_label = QLabel("&Zoom:")
        zoom_label.setBuddy(self.zoom)
        self.status = QLabel("No letter selected.")
        self.status.setAccessibleName("Letter preview status")
        self.status.setWordWrap(True)
        bar = QHBoxLayout()
        bar.addWidget(self.status, 1)
        bar.addWidget(zoom_label)
        bar.addWidget(self.zoom)

        self._pages = QWidget()
        self._pages.setAccessibleName("Letter pages")
        self._pages_layout = QVBoxLayout(self._pages)
        self._pages_layout.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self._pages_layout.setSpacing(12)
        self.scroll = QScrollArea()
        self.scroll.setAccessibleName("Letter pages")
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self._pages)
        self.scroll.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # arrow keys and Page Down scroll

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.scroll, 1)

        for keys, step in ((QKeySequence.StandardKey.ZoomIn, 1), (QKeySequence.StandardKey.ZoomOut, -1)):
            shortcut = QShortcut(keys, self, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda step=step: self.step_zoom(step))

    # -- what tests and pages read -----------------------------------------------------------

    @property
    def page_count(self) -> int:
        return len(self._images)

    def page_images(self) -> list[QImage]:
        return list(self._images)

    def page_labels(self) -> list[QLabel]:
        return list(self._page_labels)

    @property
    def has_letter(self) -> bool:
        return self._pdf is not None

    # -- showing ---------------------------------------------------------------------------------

    def show_pdf(self, data: bytes) -> None:
        """Render ``data`` (a PDF) off the UI thread and show its pages."""
        self._pdf = bytes(data)
        self._render()

    def show_message(self, text: str) -> None:
        """No letter, only a word (loading, nothing selected, could not be made)."""
        self._request += 1
        self._pdf = None
        self._set_pages([])
        self.status.setText(text)

    def clear(self) -> None:
        self.show_message("No letter selected.")

    def step_zoom(self, step: int) -> None:
        index = min(max(self.zoom.currentIndex() + step, 0), self.zoom.count() - 1)
        self.zoom.setCurrentIndex(index)

    def _zoom_changed(self, _index: int) -> None:
        if self._pdf is not None:
            self._render()

    def _scale(self) -> float:
        ratio = self.devicePixelRatioF() or 1.0
        return self.zoom.currentData() / 100 * _SCREEN_DPI / _POINTS_PER_INCH * ratio

    def _render(self) -> None:
        self._request += 1
        request, data, scale = self._request, self._pdf, self._scale()
        self.status.setText(f"Rendering the {self.what}…")
        self.session.run(lambda: render_pdf(data, scale),
                         lambda pages: self._rendered(request, pages),
                         lambda exc: self._failed(request, exc))

    def _rendered(self, request: int, pages: list[RenderedPage]) -> None:
        if request != self._request:
            return  # another letter or zoom was asked for meanwhile
        self._set_pages([to_image(page) for page in pages])
        count = len(pages)
        self.status.setText(f"The {self.what}: {count} page{'s' if count != 1 else ''}.")
        self.rendered.emit(count)

    def _failed(self, request: int, exc: Exception) -> None:
        if request != self._request:
            return
        self._set_pages([])
        # Never the exception's text: it could carry part of the letter.
        self.status.setText(f"The {self.what} could not be shown ({type(exc).__name__}).")

    def _set_pages(self, images: list[QImage]) -> None:
        for label in self._page_labels:
            self._pages_layout.removeWidget(label)
            label.deleteLater()
        self._page_labels = []
        self._images = images
        ratio = self.devicePixelRatioF() or 1.0
        for number, image in enumerate(images, start=1):
            pixmap = QPixmap.fromImage(image)
            pixmap.setDevicePixelRatio(ratio)
            label = QLabel()
            label.setPixmap(pixmap)
            label.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
            label.setAccessibleName(f"Page {number} of {len(images)}")
            label.setAccessibleDescription(f"Page {number} of {len(images)} of the {self.what}")
            label.setStyleSheet("border: 1px solid palette(mid); background: white;")
            self._pages_layout.addWidget(label)
            self._page_labels.append(label)
