"""wazo-bus-validator: a protocol-conformance validator for the Wazo 17.08 message bus."""

__version__ = "0.1.0"

import sys as _sys

if _sys.dont_write_bytecode:  # the package's bytecode then lives in the cache folder
    from .bytecode import install as _install
    from .folders import cache_dir as _cache_dir

    _install(__name__, _cache_dir())
