"""The installed package's version (a module of its own, so submodules need not import the root)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("funnelopt")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
