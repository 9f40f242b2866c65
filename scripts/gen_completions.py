#!/usr/bin/env python3
"""Regenerate completions/qstash.{bash,zsh,fish} from the app (`qstash completion SHELL`); `--check` only compares.

python scripts/gen_completions.py          # write the files
python scripts/gen_completions.py --check  # exit 1 when a committed file differs (drift)
"""

from __future__ import annotations

import sys
from pathlib import Path

from qstash_cli.commands.completion import Shell, script

OUT = Path(__file__).resolve().parent.parent / "completions"


def files() -> dict[Path, str]:
    """Each completion file and the text the app generates for it."""
    return {OUT / f"qstash.{shell.value}": script(shell.value) for shell in Shell}


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for path, text in files().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(path)
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if check and stale:
        print("stale: " + ", ".join(str(p) for p in stale) + " (run scripts/gen_completions.py)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
