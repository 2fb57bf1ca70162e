"""How fast sitegen reads pasted pages: seconds per MB for each format, medians of --runs.

usage: python benchmarks/parse_bench.py [--mb 10] [--runs 3]

It makes a capture of about --mb MB in each shape from real cards: the daily web clip in
../shared/captures/ (Markdown, cards repeated with fresh ids), the same cards as linked text,
and the seed layout (seeds/001, repeated). Each is read by `sitegen.listing.parse`, the whole
of what a build does with a file before dedupe (decoding, picking the format, reading, the
digest date), in this process, with the garbage collector set as a build sets it; the figure is CPU seconds per MB (time.process_time), so other
load on the machine does not inflate it. It also reads 1/4 and 1/2 of the largest input, to show
the time grows in proportion to the input.
"""
from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sitegen import listing  # noqa: E402
from sitegen.workers import fewer_collections  # noqa: E402

DAILY = ROOT.parent / "shared" / "captures" / "daily-clipper-2026-04-17.md"
SEED = ROOT / "seeds" / "001_4c40c16418a54f55.txt"


def markdown_capture(size: int) -> bytes:
    text = DAILY.read_text()
    head, _, cards = text.partition("Apr 17\n")
    cards = cards.rsplit("[Previous]", 1)[0]
    parts, n, total = [head + "Apr 17\n"], 0, 0
    while total < size:
        n += 1
        # fresh ids per copy, so each card is a paper of its own, as in a real archive of pages
        chunk = re.sub(r"(\d{4})\.(\d{4,5})", lambda m: f"{m[1]}.{(int(m[2]) + n * 7) % 99999:05d}", cards)
        parts.append(chunk)
        total += len(chunk)
    return "".join(parts).encode()


def linked_capture(size: int) -> bytes:
    card = ("Submitted by taesiri\n\nA Paper Title About Things Number {n}\n\nhttps://huggingface.co/papers/2604.{n:05d}\n\n"
            "We study a problem that matters a great deal. Our method improves results on many benchmarks while "
            "remaining simple to implement, and we release code and models for everyone to use today.\n\n"
            "https://huggingface.co/papers/2604.{n:05d}\n\n7 authors\n\nhttps://huggingface.co/papers/2604.{n:05d}\n\n"
            "42\n\nhttps://huggingface.co/papers/2604.{n:05d}\n\n3\n\nhttps://huggingface.co/papers/2604.{n:05d}#community\n\n")
    parts, total, n = ["Daily Papers\n\nApr 17\n\n"], 0, 0
    while total < size:
        chunk = card.format(n=n % 99999)
        parts.append(chunk)
        total += len(chunk)
        n += 1
    return "".join(parts).encode()


def seed_capture(size: int) -> bytes:
    text = SEED.read_bytes()
    header, _, body = text.partition(b"\n\n")
    return header + b"\n\n" + body * max(1, size // len(body))


def seconds(raw: bytes, runs: int) -> float:
    times = []
    for _ in range(runs):
        with fewer_collections():  # as in a build
            started = time.process_time()
            parsed = listing.parse(raw, "bench.md", default_year=2026)
            times.append(time.process_time() - started)
        assert parsed.entries
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    size = int(args.mb * 1_000_000)
    print(f"{'format':<12} {'MB':>6} {'papers':>7} {'s (CPU)':>8} {'s/MB':>6}   growth: 1/4 and 1/2 of the input, s/MB")
    for name, make in (("markdown", markdown_capture), ("linked text", linked_capture), ("seed text", seed_capture)):
        raw = make(size)
        papers = len(listing.parse(raw, "bench.md", default_year=2026).entries)
        whole = seconds(raw, args.runs)
        growth = []
        for share in (4, 2):
            part = raw[: len(raw) // share]
            part = part[: part.rfind(b"\n\n")]
            growth.append(seconds(part, args.runs) / (len(part) / 1e6))
        mb = len(raw) / 1e6
        print(f"{name:<12} {mb:6.1f} {papers:7d} {whole:8.2f} {whole / mb:6.3f}   "
              + " ".join(f"{g:.3f}" for g in growth))


if __name__ == "__main__":
    main()
