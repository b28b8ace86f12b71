"""The wire protocol ``openhire.v1``: typed messages, their codec, error and close codes.

No I/O here: bytes and text in, typed messages out (and back). See docs/protocol.md.
"""

SUBPROTOCOL = "openhire.v1"

# The largest frame either side sends or takes (a text frame, or a screenshot with its header).
MAX_FRAME_BYTES = 1024 * 1024
