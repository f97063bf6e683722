"""The untrusted side of the portable mode: a plain process that runs one submission's cells and calls.

Started by ``grader.sandbox.portable.host`` with its options on stdin; connects back over loopback
with the host's token, then serves exactly as a sandboxed child does (``inside.student_runtime``).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile


def main() -> None:
    options = json.loads(sys.stdin.buffer.read())
    os.chdir(options["workdir"])
    tempfile.tempdir = None
    sock = socket.create_connection(("127.0.0.1", int(options["port"])))
    sock.sendall(options["token"].encode())
    sys.stdout = open(1, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)
    sys.stderr = open(2, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)
    from grader.sandbox.inside import student_runtime  # imports torch

    limits = options.get("limits") or {}
    student_runtime.serve(sock, int(limits.get("max_transfer_bytes", 256 << 20)))
    os._exit(0)


if __name__ == "__main__":
    main()
