"""The report pages' Jinja templates (``templates/``), which share one stylesheet
(``templates/_base.css``, included by each page under its own rules)."""

from __future__ import annotations

import jinja2

__all__ = ["page_template"]


def page_template(name: str) -> jinja2.Template:
    """The page template ``name`` (e.g. ``"report.html"``): HTML-escaped values, an error for an
    undefined one, and block tags that leave no blank lines."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("tissuefate.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template(name)
