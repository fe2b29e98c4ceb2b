"""The data card of a run: `collect` gathers its figures, `render` writes the HTML page."""

from stackpipe.report.collect import collect
from stackpipe.report.discover import ReportInputError
from stackpipe.report.render import render

__all__ = ["ReportInputError", "collect", "render"]
