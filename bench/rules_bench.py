"""Detection benchmark: full `analyze` (rules and the learned model) against spaCy's bare blank tokenizer.

Runs both over the same few thousand posts, prints posts/s of each and their
ratio (target >= 0.5), then analyses 100,000 posts in one process and prints
resident memory along the way and at its peak (target: flat).

The posts are real-length: the texts of ../shared/eval/*.jsonl when that folder
is there (news paragraphs of several hundred characters, not only short ads),
else the demo site's posts and the project's own test cases; numbers, handles
and prices are varied so that the vocabulary keeps meeting new words. The
detector is the one the product runs (the shipped model unless MONITOR_MODEL
says otherwise); `--rules-only` measures the rules alone.

    .venv/bin/python bench/rules_bench.py [--posts 5000] [--memory-posts 100000] [--rules-only]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import spacy  # noqa: E402

from monitor.demo import load_site_data  # noqa: E402
from monitor.learning.registry import build_detector  # noqa: E402
from rules import Detector  # noqa: E402


SHARED_EVAL = ROOT.parent / "shared" / "eval"


def base_texts() -> list[str]:
    shared = sorted(SHARED_EVAL.glob("*.jsonl")) if SHARED_EVAL.is_dir() else []
    if shared:
        texts = []
        for path in shared:
            with open(path, encoding="utf-8") as fh:
                texts += [json.loads(line)["text"] for line in fh if line.strip()]
        return texts
    site = load_site_data()
    texts = [p["body"] for t in site["forum"]["threads"] for p in t["posts"]]
    texts += [m["text"] for m in site["telegram"]["messages"]]
    with open(ROOT / "tests" / "cases" / "own_cases.jsonl", encoding="utf-8") as fh:
        texts += [json.loads(line)["text"] for line in fh if line.strip()]
    return texts


def corpus(n: int, seed: int = 11) -> list[str]:
    """`n` posts: base texts with fresh numbers, handles and prices, some joined into longer posts."""
    rng = random.Random(seed)
    texts = base_texts()
    out = []
    for i in range(n):
        text = rng.choice(texts)
        if rng.random() < 0.1:
            text += "\n" + rng.choice(texts)
        text = text.replace("5rb", f"{rng.randint(1, 99)}rb").replace("@", f"@u{rng.randint(0, 10**6)}_")
        out.append(f"{text} #{i} ref{rng.randint(0, 10**9)}")
    return out


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=5000)
    parser.add_argument("--memory-posts", type=int, default=100_000)
    parser.add_argument("--rules-only", action="store_true", help="Measure the rules without the learned model.")
    args = parser.parse_args()

    posts = corpus(args.posts)
    detector = Detector() if args.rules_only else build_detector()
    print(f"corpus: {'../shared/eval' if SHARED_EVAL.is_dir() else 'demo site and own cases'}; "
          f"model: {detector.model_version or 'none (rules only)'}")
    nlp = spacy.blank("id")  # spaCy's own blank Indonesian tokenizer, as shipped
    for text in posts[:200]:  # warm both up
        detector.analyze(text)
        nlp.make_doc(text)

    start = time.perf_counter()
    with nlp.memory_zone():
        for text in posts:
            nlp.make_doc(text)
    tokenizer_rate = len(posts) / (time.perf_counter() - start)

    start = time.perf_counter()
    sales = sum(detector.analyze(text).label == "sale" for text in posts)
    analyze_rate = len(posts) / (time.perf_counter() - start)

    ratio = analyze_rate / tokenizer_rate
    print(f"{len(posts)} posts, {sum(map(len, posts)) / len(posts):.0f} characters on average, {sales} flagged as sales")
    print(f"spaCy blank 'id' tokenizer: {tokenizer_rate:,.0f} posts/s")
    print(f"analyze (rules + model):    {analyze_rate:,.0f} posts/s")
    print(f"ratio analyze/tokenizer: {ratio:.2f} (target >= 0.5)")

    checkpoints = {}
    print(f"\nmemory over {args.memory_posts:,} posts in one process (RSS, MB):")
    stream = corpus(2000, seed=3)
    for i in range(args.memory_posts):
        text = stream[i % len(stream)].replace("#", f"#{i}-")  # every post brings new tokens
        detector.analyze(text)
        if (i + 1) % (args.memory_posts // 10) == 0:
            checkpoints[i + 1] = round(rss_mb(), 1)
            print(f"  after {i + 1:>7,} posts: {checkpoints[i + 1]:.1f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    first, last = list(checkpoints.values())[0], list(checkpoints.values())[-1]
    print(f"peak RSS {peak:.1f} MB; growth from the first to the last checkpoint {last - first:+.1f} MB")
    print(json.dumps({"tokenizer_posts_per_s": round(tokenizer_rate), "analyze_posts_per_s": round(analyze_rate),
                      "ratio": round(ratio, 3), "rss_checkpoints_mb": checkpoints, "peak_rss_mb": round(peak, 1)}))


if __name__ == "__main__":
    main()
