"""The installed version of mcscale (read from the package metadata, so there is one home for it)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mcscale")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
