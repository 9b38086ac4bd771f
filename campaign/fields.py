"""Form fields shared by several packages' forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, widgets


class PublicForm(FlaskForm):
    """A form on a public page: no session token, so the page sets no cookie.

    ``crossorigin`` refuses it when another site's page sends it; its view is exempt from
    Flask-WTF's token check (``csrf.exempt``).
    """

    class Meta:
        csrf = False


class CheckboxListField(SelectMultipleField):
    """Checkboxes, one per choice, in a list: usable without JavaScript and by keyboard."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class SingleLineField(StringField):
    """A one-line text input; a refused value with line breaks is shown back on one line.

    (An ``<input>`` cannot hold a line break: the error beside it says why it was refused.)
    """

    def _value(self) -> str:
        return " ".join(super()._value().splitlines())
