"""The version of mcscale: its one home (``pyproject.toml`` reads it from here)."""

__version__ = "0.1.0"

__all__ = ["__version__"]
