"""Explore a scenario in the browser, from Python: ``mcscale.explore.serve("baseline")``.

The page and its server live in :mod:`mcscale.report.server`; this module is the public
name that ``mcscale explore`` on the command line has in notebooks.

Examples
--------
>>> import mcscale
>>> server = mcscale.explore.serve("baseline", port=0)  # doctest: +SKIP
>>> server.url  # doctest: +SKIP
'http://127.0.0.1:40123/'
>>> server.stop()  # doctest: +SKIP
"""

from mcscale.report.explore import DEFAULT_MAX_DRAWS
from mcscale.report.server import DEFAULT_PORT, ExploreServer, serve

__all__ = ["DEFAULT_MAX_DRAWS", "DEFAULT_PORT", "ExploreServer", "serve"]
