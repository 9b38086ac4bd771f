"""Form fields shared by several packages' forms."""

from __future__ import annotations

from wtforms import SelectMultipleField, widgets


class CheckboxListField(SelectMultipleField):
    """Checkboxes, one per choice, in a list: usable without JavaScript and by keyboard."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()
