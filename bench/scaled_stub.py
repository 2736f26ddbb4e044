#!/usr/bin/python3
"""The stand-in Scalr server (tests/scalr_stub/scalr_stub.py) with the scaled profiles of
bench/gen_pg_large.py available too: `--profile ws1000`, `--profile ws100000`, ... (any
"ws<N>", N a multiple of 10, at least 100), besides small and large. Same flags otherwise."""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_pg_large  # noqa: E402  (also puts tests/scalr_stub on sys.path)
import scalr_stub  # noqa: E402


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    for i, arg in enumerate(argv):
        value = argv[i + 1] if arg == "--profile" and i + 1 < len(argv) else \
            arg.partition("=")[2] if arg.startswith("--profile=") else None
        m = re.fullmatch(r"ws(\d+)", value or "")
        if m:
            gen_pg_large.profile_name(int(m.group(1)))  # registers it in sample_data.PROFILES
    return scalr_stub.main(argv)


if __name__ == "__main__":
    sys.exit(main())
