"""Summarise py-spy collapsed stacks: the share of samples in each function (inclusive).

    python -m bench.stacks profile.txt [--top 40] [--match web/]
"""

from __future__ import annotations

import re
from collections import Counter

import typer

FRAME = re.compile(r"^(?P<func>[^ ]+) \((?P<file>[^:]+)(?::\d+)?\)$")


def main(path: str, top: int = 40, match: str = "") -> None:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    with open(path) as lines:
        stacks = lines.read().splitlines()
    for line in stacks:
        stack, _, count = line.rstrip().rpartition(" ")
        n = int(count)
        total += n
        frames = []
        for frame in stack.split(";"):
            m = FRAME.match(frame)
            name = f"{m['func']} ({m['file'].split('site-packages/')[-1]})" if m else frame
            frames.append(name)
        for name in set(frames):
            inclusive[name] += n
        if frames:
            own[frames[-1]] += n
    print(f"{total} samples")
    for title, counter in (("inclusive", inclusive), ("self", own)):
        print(f"--- {title}")
        left = top  # each list gets its own `top` lines
        for name, n in counter.most_common():
            if match in name:
                print(f"{100 * n / total:5.1f}%  {name}")
                left -= 1
                if left == 0:
                    break


if __name__ == "__main__":
    typer.run(main)
