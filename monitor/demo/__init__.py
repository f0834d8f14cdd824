"""The built-in demo: a synthetic forum and Telegram channel served on 127.0.0.1."""

from .server import DemoServer
from .site import DemoSite, load_site_data

__all__ = ["DemoServer", "DemoSite", "load_site_data"]
