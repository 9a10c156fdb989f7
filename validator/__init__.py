"""wazo-bus-validator: a protocol-conformance validator for the Wazo 17.08 message bus."""

__version__ = "0.1.0"
