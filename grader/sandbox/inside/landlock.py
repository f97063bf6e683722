"""Landlock: the kernel's own sandbox for unprivileged processes, applied to each child.

It limits the filesystem to read-only views of the Python installation and the grader
package plus the submission's working directory (the repository's checks, reference
solutions and gradebook are out of reach even without bubblewrap), denies TCP, and,
where the kernel scopes them (ABI 6), stops signals to processes outside the sandbox
(the warm worker that forked it). Where the kernel lacks Landlock this is a no-op and
the report says so.
"""

from __future__ import annotations

import ctypes
import os
import struct

SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446  # x86_64 and aarch64 alike
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH = 1

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
READ_ONLY = EXECUTE | READ_FILE | READ_DIR
FS_RIGHTS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1, 5: (1 << 16) - 1}
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def abi_version() -> int:
    if os.uname().machine not in ("x86_64", "aarch64"):
        return 0
    version = _libc.syscall(SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(CREATE_RULESET_VERSION))
    return max(int(version), 0)


def restrict(read_only: list[str], read_write: list[str], abi: int) -> bool:
    """Confine the calling process (and what it starts) for good; True when it took effect."""
    if abi < 1:
        return False
    fs_rights = FS_RIGHTS_BY_ABI.get(abi, FS_RIGHTS_BY_ABI[5])
    attr = struct.pack("=QQQ", fs_rights, NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0,
                       SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0)
    size = 8 if abi < 4 else (16 if abi < 6 else 24)
    buffer = ctypes.create_string_buffer(attr[:size], size)
    ruleset = _libc.syscall(SYS_CREATE_RULESET, buffer, ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        return False
    try:
        for paths, rights in ((read_only, READ_ONLY), (read_write, fs_rights)):
            for path in paths:
                try:
                    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                except OSError:
                    continue
                try:
                    # A rule on a file may carry only file rights.
                    allowed = rights if os.path.isdir(path) else rights & (EXECUTE | WRITE_FILE | READ_FILE
                                                                          | (1 << 14) | (1 << 15))
                    rule = ctypes.create_string_buffer(struct.pack("=Qi", allowed & fs_rights, fd), 12)
                    if _libc.syscall(SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(RULE_PATH_BENEATH),
                                     rule, ctypes.c_uint32(0)) < 0:
                        return False
                finally:
                    os.close(fd)
        return _libc.syscall(SYS_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) == 0
    finally:
        os.close(ruleset)
