"""The wire protocol ``openhire.v1``: typed messages, their codec, error and close codes.

No I/O here: bytes and text in, typed messages out (and back). See docs/protocol.md.
"""

SUBPROTOCOL = "openhire.v1"
