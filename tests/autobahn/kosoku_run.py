"""Runs kosoku (the Autobahn case runner) with one fix to its Python 3 port of cases 12.x/13.x.

kosoku 0.1.0 hands a case's onMessage a text message as a str and a binary one as a latin-1 str
(the Python 2 convention the cases were written for). Cases 12.x and 13.x (permessage-deflate)
hash the echoed message with hashlib and decode text with .decode('utf-8'), both of which need
bytes under Python 3, so every one of them ends in ERROR ("Strings must be encoded before
hashing") after the first echo, whatever the server did. This wrapper gives those two families'
onMessage the bytes they were written for (text: UTF-8, binary: latin-1, the exact inverse of
kosoku's conversion) and changes nothing else: the cases' own checks (message type, length, SHA-1
of the payload, 1,000 round trips, close) decide the verdicts. Usage: as the kosoku command.
"""

import sys

from kosoku._caseindex import initialize_shims


def _as_bytes(on_message):
    def on_message_bytes(self, msg, binary):
        if isinstance(msg, str):
            msg = msg.encode("latin-1" if binary else "utf-8")
        return on_message(self, msg, binary)

    return on_message_bytes


def patch_compression_cases():
    initialize_shims()
    import case12_x_x  # noqa: E402 (on sys.path only after initialize_shims)

    for cls in case12_x_x.Case12_X_X + case12_x_x.Case13_X_X:
        cls.onMessage = _as_bytes(cls.onMessage)


if __name__ == "__main__":
    patch_compression_cases()
    from kosoku._cli import main

    sys.argv[0] = "kosoku"
    main()
