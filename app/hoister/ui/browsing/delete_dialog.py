"""Deleting an image, saying plainly what a registry does: it deletes by digest.

People think they delete a tag; the registry deletes the manifest, and every tag that
points at it goes too. The dialog finds those tags first (in a worker: the tag list,
then a HEAD per tag whose digest the table did not know yet) and only then lets the
Delete button be pressed, so nobody loses ``latest`` by deleting ``1.0``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from html import escape

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from hoister.engine.tags import is_referrer_tag
from hoister.registry import Unsupported
from hoister.ui.context import AppContext
from hoister.ui.shared.workers import Requester

ERROR_STYLE = "color: #b3261e"
DANGER_STYLE = (
    "QPushButton { color: white; background: #c0392b; border: 1px solid #922b21;"
    " border-radius: 3px; padding: 4px 16px; }"
    "QPushButton:disabled { background: #e6b0aa; border-color: #e6b0aa; }"
    "QPushButton:hover { background: #a93226; }"
)
#: HEAD requests in flight while looking for sibling tags: quick, but polite.
HEAD_WORKERS = 4


@dataclass(frozen=True)
class Siblings:
    """Tags that point at the digest, and referrer tags that name it (left in place)."""

    tags: list[str]
    referrer_tags: list[str]


def find_siblings(
    ctx: AppContext, profile: str, repository: str, digest: str, known: dict[str, str]
) -> Siblings:
    """Worker: every tag of ``repository`` whose manifest is ``digest``.

    Digests the table already read are trusted for tags pointing elsewhere; the rest
    (unknown, or claimed to match) are checked now, since a tag may have moved.
    """
    client = ctx.client(profile)
    tags = list(client.tags(repository))
    referrer_mark = digest.replace(":", "-", 1)
    referrer_tags = [t for t in tags if is_referrer_tag(t) and t.startswith(referrer_mark)]
    check = [
        t for t in tags if not is_referrer_tag(t) and known.get(t, digest) == digest
    ]  # unknown tags default to "might match"
    with ThreadPoolExecutor(HEAD_WORKERS, thread_name_prefix="hoister-head") as pool:
        heads = list(pool.map(lambda tag: client.head_manifest(repository, tag), check))
    matching = [t for t, head in zip(check, heads, strict=True) if head and head.digest == digest]
    return Siblings(sorted(matching), referrer_tags)


def delete_image(ctx: AppContext, profile: str, repository: str, digest: str) -> str:
    """Worker: delete the manifest (and with it every tag pointing at it)."""
    ctx.client(profile).delete_manifest(repository, digest)
    return digest


class DeleteDialog(QDialog):
    """Lists what a delete by digest removes, then deletes on request."""

    listed = Signal(list)  # the tags that will go
    deleted = Signal(str, list)  # digest, tags that went with it
    failed = Signal(str)  # the registry's message

    def __init__(
        self,
        ctx: AppContext,
        profile_name: str,
        repository: str,
        tag: str,
        digest: str,
        known: dict[str, str] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx, self.profile_name = ctx, profile_name
        self.repository, self.tag, self.digest = repository, tag, digest
        self.tags: list[str] | None = None
        self._deleting = False
        self.setWindowTitle(f"Delete {repository}:{tag}")
        self.setMinimumWidth(520)
        self._lister = Requester(ctx.pool, self)
        self._lister.ready.connect(self._listed)
        self._lister.error.connect(self._failed)
        self._deleter = Requester(ctx.pool, self)
        self._deleter.ready.connect(self._deleted)
        self._deleter.error.connect(self._failed)
        self._build()
        self._set_busy(f"Finding every tag of {repository} that points to this image…")
        self._lister.submit(find_siblings, ctx, profile_name, repository, digest, dict(known or {}))

    def _build(self) -> None:
        heading = QLabel(f"<b>Delete {escape(self.repository)}:{escape(self.tag)}?</b>")
        self.explanation = explanation = QLabel(
            f"<p>A registry deletes images by digest: deleting "
            f"<code>{escape(self.digest)}</code> removes every tag that points to it:</p>"
        )
        explanation.setWordWrap(True)
        explanation.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.tags_list = QListWidget()
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.message = QLabel()
        self.message.setTextFormat(Qt.TextFormat.PlainText)  # registry messages are not HTML
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        self.delete_button = QPushButton("Delete")
        self.delete_button.setStyleSheet(DANGER_STYLE)
        self.delete_button.setAutoDefault(False)
        self.cancel_button.setDefault(True)
        self.buttons.addButton(self.delete_button, QDialogButtonBox.ButtonRole.DestructiveRole)
        self.delete_button.clicked.connect(self._delete)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(explanation)
        layout.addWidget(self.tags_list, 1)
        layout.addWidget(self.note)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

    def _set_busy(self, text: str) -> None:
        self.message.setStyleSheet("")
        self.message.setText(text)
        self.progress.setVisible(True)
        self.delete_button.setEnabled(False)

    @Slot(object)
    def _listed(self, found: object) -> None:
        assert isinstance(found, Siblings)
        self.tags = found.tags
        self.progress.setVisible(False)
        self.tags_list.addItems(found.tags)
        self.message.setText(
            f"{len(found.tags)} tag{'s' if len(found.tags) != 1 else ''} will be deleted."
            if found.tags
            else "No tag points to this image any more; only the manifest will be deleted."
        )
        notes = ["Layers shared with other images stay until the registry's garbage collection."]
        if found.referrer_tags:
            count = len(found.referrer_tags)
            notes.insert(
                0,
                f"{count} signature, SBOM or referrer tag{'s' if count > 1 else ''} about this "
                f"image {'stay' if count > 1 else 'stays'} (separate manifests, not deleted).",
            )
        self.note.setText(" ".join(notes))
        self.delete_button.setEnabled(True)
        self.listed.emit(list(found.tags))

    @Slot()
    def _delete(self) -> None:
        if self.tags is None:
            return
        self._set_busy(f"Deleting {self.digest}…")
        self._deleting = True
        self.cancel_button.setEnabled(False)
        self._deleter.submit(
            delete_image, self.ctx, self.profile_name, self.repository, self.digest
        )

    @Slot(object)
    def _deleted(self, digest: object) -> None:
        self.progress.setVisible(False)
        self.deleted.emit(str(digest), list(self.tags or []))
        self.accept()

    @Slot(object)
    def _failed(self, error: object) -> None:
        self._deleting = False
        self.progress.setVisible(False)
        self.cancel_button.setEnabled(True)
        self.message.setStyleSheet(ERROR_STYLE)
        if isinstance(error, Unsupported):
            self.message.setText(f"This registry does not allow deleting images.\n{error}")
            self.delete_button.setEnabled(False)
            self.cancel_button.setText("Close")
        else:
            self.message.setText(str(error))
            self.delete_button.setEnabled(self.tags is not None)
        self.failed.emit(str(error))

    def reject(self) -> None:
        """Closing while the registry deletes would hide its answer: wait for it."""
        if not self._deleting:
            super().reject()
