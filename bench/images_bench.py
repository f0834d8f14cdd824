"""Image analysis on generated seller photos: is an ID document found, is a selfie with ID found,
are NIK digits read, and how fast, on this machine.

    .venv/bin/python bench/images_bench.py [--per-class 40] [--seed 7] [--misses]

The images come from tests/imagegen.py (per class: KTP, KK, NPWP and selfie with a KTP, and
twice as many negatives: memes, product shots, news screenshots about a leak, plain faces, bank
and membership cards), 240 by default. Prints figures beside their targets; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from rules.images.analysis import analyse_image  # noqa: E402
from rules.images.ocr import engine, threads  # noqa: E402
from rules import mask  # noqa: E402
from imagegen import make_dataset  # noqa: E402

TARGETS = {"ID precision": 0.95, "ID recall": 0.85, "selfie-with-ID precision": 0.9}


def ratio(a: int, b: int) -> float:
    return a / b if b else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--misses", action="store_true", help="List every wrong image.")
    args = parser.parse_args()

    started = time.perf_counter()
    samples = list(make_dataset(args.seed, args.per_class))
    generated = time.perf_counter() - started
    engine()  # load the models outside the timing
    counts: Counter = Counter()
    by_kind: Counter = Counter()
    misses, seconds = [], []
    for s in samples:
        t0 = time.perf_counter()
        a = analyse_image(s.data)
        seconds.append(time.perf_counter() - t0)
        is_doc, said_doc = s.document != "none", a.document != "none"
        counts["doc tp"] += is_doc and said_doc
        counts["doc fp"] += (not is_doc) and said_doc
        counts["doc fn"] += is_doc and not said_doc
        counts["type right"] += is_doc and a.document == s.document
        is_selfie = s.kind == "selfie"
        counts["selfie tp"] += is_selfie and a.selfie_with_id
        counts["selfie fp"] += (not is_selfie) and a.selfie_with_id
        counts["selfie fn"] += is_selfie and not a.selfie_with_id
        wrong = [] if (is_doc == said_doc and (not is_doc or a.document == s.document)) else [f"document {a.document}"]
        if is_selfie != a.selfie_with_id:
            wrong.append(f"selfie_with_id {a.selfie_with_id}")
        nik = s.truth.get("nik") if s.kind in ("ktp", "selfie") else None
        if nik:
            # The analysis shows masked numbers only: a NIK counts as read when its masked form is
            # listed as a valid NIK (the digits in between are checked by the validator).
            counts["nik total"] += 1
            got = any(i["kind"] == "nik" and i["valid"] and i["masked"] == mask("nik", nik) for i in a.identifiers)
            counts["nik read"] += got
            by_kind[f"nik read {s.kind} L{s.level}"] += got
            by_kind[f"nik total {s.kind} L{s.level}"] += 1
            if not got:
                wrong.append("NIK not read")
        if re.search(r"\d{16}", a.text_read + repr(a.to_dict())):
            wrong.append("a full 16-digit number in the output")
            counts["unmasked"] += 1
        if wrong:
            misses.append(f"  {s.id} (level {s.level}): {', '.join(wrong)}; reasons: {a.reasons[:1]}")
    n = len(samples)
    total = sum(seconds)
    docs = sum(s.document != "none" for s in samples)
    precision = ratio(counts["doc tp"], counts["doc tp"] + counts["doc fp"])
    recall = ratio(counts["doc tp"], counts["doc tp"] + counts["doc fn"])
    s_precision = ratio(counts["selfie tp"], counts["selfie tp"] + counts["selfie fp"])
    s_recall = ratio(counts["selfie tp"], counts["selfie tp"] + counts["selfie fn"])
    print(f"{n} images ({docs} ID documents incl. selfies, {n - docs} negatives), seed {args.seed}; "
          f"generated in {generated:.0f} s")
    print(f"{'figure':<34}{'measured':>10}{'target':>10}")
    print(f"{'ID document precision':<34}{precision:>10.3f}{'>= 0.95':>10}")
    print(f"{'ID document recall':<34}{recall:>10.3f}{'>= 0.85':>10}")
    print(f"{'document type right (of found)':<34}{ratio(counts['type right'], counts['doc tp']):>10.3f}")
    print(f"{'selfie-with-ID precision':<34}{s_precision:>10.3f}{'>= 0.90':>10}")
    print(f"{'selfie-with-ID recall':<34}{s_recall:>10.3f}")
    print(f"{'NIK read and valid (KTP, selfie)':<34}{ratio(counts['nik read'], counts['nik total']):>10.3f}"
          f"   ({counts['nik read']}/{counts['nik total']})")
    for key in sorted(k for k in by_kind if k.startswith("nik total")):
        kind = key.removeprefix("nik total ")
        print(f"    {kind:<30}{by_kind['nik read ' + kind]:>4}/{by_kind[key]}")
    print(f"{'outputs with a full 16-digit number':<34}{counts['unmasked']:>10}{'0':>10}")
    ordered = sorted(seconds)
    print(f"{'s/image mean / median / p95':<34}{total / n:>10.2f}{'':>10}  {ordered[n // 2]:.2f} / "
          f"{ordered[int(n * 0.95) - 1]:.2f}")
    print(f"{'images/s':<34}{n / total:>10.2f}{'':>10}  (onnxruntime threads {threads()}, {os.cpu_count()} cores)")
    if args.misses and misses:
        print("\nwrong:")
        print("\n".join(misses))


if __name__ == "__main__":
    main()
