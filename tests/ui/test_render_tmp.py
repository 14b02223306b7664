from PySide6.QtWidgets import QApplication
from hoister.policies import Rule
from hoister.ui.theme import apply_theme
from tests.ui.test_policy_editor import open_editor, fill_seed
from tests.support.images import build_image, push_image

def test_render(qtbot, registry, make_context):
    apply_theme(QApplication.instance(), "light")
    push_image(registry.url, "dev/website", "1.4-stable", build_image(seed=41))
    ctx = make_context(local=registry)
    dialog = open_editor(qtbot, ctx)
    fill_seed(qtbot, dialog)
    dialog.criteria.add_row(Rule("vulnerability_critical", "lte", ("0",)))
    dialog.criteria.add_row(Rule("label.org.opencontainers.image.version", "sw", ("1.",)))
    dialog.description_edit.setPlainText("Builds tagged *-stable go to QA, stamped with the promotion time.")
    qtbot.waitUntil(lambda: dialog.template.preview_label.text().startswith("1.4-stable"))
    qtbot.waitUntil(lambda: dialog.permissions_label.text().startswith("✓"), timeout=5000)
    qtbot.waitUntil(dialog.save_button.isEnabled)
    dialog.adjustSize()
    qtbot.wait(50)
    dialog.grab().save("/tmp/editor.png")
    dialog.template.set_text("%Y:%m")
    dialog.criteria.rows[0].operator_combo.setCurrentIndex(dialog.criteria.rows[0].operator_combo.findData("matches"))
    dialog.criteria.rows[0].value_widget.setText("(")
    dialog.target_picker.set_repository("Qa/Website")
    qtbot.waitUntil(lambda: not dialog.save_button.isEnabled())
    qtbot.wait(200)
    dialog.adjustSize()
    qtbot.wait(50)
    dialog.grab().save("/tmp/editor-errors.png")
