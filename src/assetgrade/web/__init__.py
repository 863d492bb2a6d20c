"""The web review UI: server-rendered Jinja2 templates with htmx and a small box-drawing script."""

from assetgrade.web.views import install_ui

__all__ = ["install_ui"]
