"""Commands about the rule layer: explain a text, score a labelled file, re-score stored posts, check rules, rule quality."""

from __future__ import annotations

import datetime as dt
import json
import sys

import click

from .app import cli, db_option, open_db, utc_since, zone_config_option, zone_of
from .output import format_option, render


def _detector(rules_dir: str | None = None, db_path: str | None = None, warn: bool = True):
    """The rules with the current learned model (see `monitor model list`); a model that cannot be
    loaded is said on standard error and the rules alone are used."""
    from rules import RuleError

    from ..learning.registry import build_detector

    try:
        detector = build_detector(db_path, rules_dir=rules_dir)
    except RuleError as exc:
        raise click.ClickException(str(exc)) from None
    if warn:
        for warning in detector.warnings:
            click.echo(f"warning: {warning}", err=True)
    return detector


@cli.command()
@click.argument("text", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the analysis as JSON.")
@click.option("--lang", type=click.Choice(["id", "en"]), help="Skip language guessing.")
@click.option("--listing", is_flag=True, help="Read TEXT as a listing title (a marketplace or trading board).")
@click.option("--reasons-in", "reasons_lang", type=click.Choice(["id", "en"]), default="en", show_default=True,
              help="The language of the reasons (\"why:\"): id = Bahasa Indonesia, en = English.")
@click.option("--image", "image_file", type=click.Path(exists=True, dir_okay=False),
              help="Analyse this image instead of a text: the ID document it shows, a face, the numbers on it (masked).")
@db_option
def explain(text, as_json, lang, listing, reasons_lang, image_file, db_path):
    """Analyse TEXT (or standard input with '-' or no argument) and explain the decision.

    Matched words are marked, identity numbers masked; every rule that
    fired, the context that neutralised it and the identifiers found are
    listed, and the words that moved the learned model's score most.
    The model is the current one of the database's data folder (`monitor
    model list`); env MONITOR_MODEL=none uses the rules alone.

    With --image FILE it reads a photo instead: the document it shows (KTP,
    KK, NPWP, passport, SIM or none), a face, whether someone holds the card
    (a selfie with ID), the numbers read with their validity and the text
    read, all masked. A file that is not a safe image exits 1 with its reason.

    \b
    Example:
        monitor explain "Jual foto selfie e-KTP, 15rb/foto, minat japri"
        echo "Data 279 juta penduduk diduga dijual" | monitor explain - --json
        monitor explain --image sample.jpg --json
    """
    if image_file:
        _explain_image(image_file, as_json)
        return
    if text is None or text == "-":
        if sys.stdin.isatty():
            click.echo("reading the text from standard input; end it with Ctrl-D (or give TEXT as an argument)", err=True)
        text = sys.stdin.read()
    analysis = _detector(db_path=db_path).analyze(text, lang=lang, is_listing=listing)
    if as_json:
        click.echo(json.dumps(analysis.to_dict(), ensure_ascii=False, indent=2))
        return
    from ..explain import describe

    click.echo(describe(text, analysis, color=sys.stdout.isatty(), lang=reasons_lang))


def _explain_image(path: str, as_json: bool) -> None:
    """Print the analysis of one image file; a refused file exits 1 with "FILE: refused: reason"."""
    from rules import mask_text
    from rules.images.analysis import analyse_image
    from rules.images.safe import MAX_BYTES, ImageRefused

    from ..escaping import terminal_safe

    shown = terminal_safe(mask_text(path))  # a file may be named after the NIK it shows
    with open(path, "rb") as fh:
        data = fh.read(MAX_BYTES + 1)  # one byte more than allowed is enough to refuse it
    try:
        analysis = analyse_image(data)
    except ImageRefused as exc:
        click.echo(f"{shown}: refused: {exc.reason}", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(analysis.to_dict(), ensure_ascii=False, indent=2))
        return
    yes_no = {True: "yes", False: "no"}
    click.echo(f"image: {shown} ({analysis.width}x{analysis.height}, sha256 {analysis.sha256[:16]}…)")
    click.echo(f"document: {analysis.document}")
    click.echo(f"face: {yes_no[analysis.face]}")
    click.echo(f"selfie with ID: {yes_no[analysis.selfie_with_id]}")
    click.echo("identifiers:" + ("" if analysis.identifiers else " none"))
    for ident in analysis.identifiers:
        click.echo(f"  {ident['kind']:<9} {ident['masked']:<22} {'valid' if ident['valid'] else 'not valid'}")
    click.echo("text read:" + ("" if analysis.text_read.strip() else " none"))
    for line in analysis.text_read.splitlines():
        if line.strip():
            click.echo(f"  {terminal_safe(line)}")
    click.echo("why:")
    for reason in analysis.reasons:
        click.echo(f"  - {terminal_safe(reason)}")


@cli.command("eval")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--cv", "folds", type=click.IntRange(min=2), metavar="K",
              help="Grouped K-fold cross-validation (items of one source stay in one fold): rules only, the learned "
                   "model only, and the combination the product runs, side by side.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with every figure.")
@click.option("--misses", is_flag=True, help="Also show every false positive and false negative with its reasons.")
@db_option
def eval_cmd(files, folds, as_json, misses, db_path):
    """Score detection on labelled JSONL FILES (the format of shared/eval/*.jsonl).

    Prints precision, recall and F1 for the sale class, per language, and
    per category (recall of sale categories, false-positive rate of the
    others). Without --cv it scores the detector as it runs (rules and the
    current model) on the files as they are: optimistic, since the rules were
    tuned on the shipped files and the default model trained on them. With
    --cv K the figure is cross-validated (a model trained on the other folds); `--json` then prints {"rules": {...},
    "model": {...}, "combined": {...}}, each with precision, recall, f1,
    per_lang, per_category and folds.

    \b
    Example:
        monitor eval ../shared/eval/dev.jsonl --misses
        monitor eval ../shared/eval/dev.jsonl ../shared/eval/train.jsonl --cv 10
    """
    from ..evaluate import EvalFileError, cross_validate, evaluate, load_examples

    try:
        examples = [ex for file in files for ex in load_examples(file)]
        ids = [ex.id for ex in examples]
        if len(set(ids)) != len(ids):
            raise EvalFileError("the files repeat an id; each labelled item must appear once")
        detector = _detector(db_path=db_path)
        if folds:
            live = sys.stderr.isatty()
            result = cross_validate(examples, detector, folds,
                                    progress=(lambda n, k: click.echo(f"\rfold {n}/{k}", nl=False, err=True)) if live else None)
            if live:
                click.echo("", err=True)
    except EvalFileError as exc:
        raise click.ClickException(str(exc)) from None
    if folds:
        _print_cv(result, as_json)
        return
    result = evaluate(examples, detector)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    click.echo(f"n={result['n']}  precision {result['precision']:.3f}  recall {result['recall']:.3f}  F1 {result['f1']:.3f}")
    click.echo("\nper language:")
    for lang, r in result["per_lang"].items():
        click.echo(f"  {lang:<6} n={r['n']:<4} precision {r['precision']:.3f}  recall {r['recall']:.3f}  F1 {r['f1']:.3f}")
    click.echo("\nper category:")
    for category, r in result["per_category"].items():
        figure = f"recall {r['recall']:.3f}" if "recall" in r else f"false positives {r['false_positive_rate']:.3f}"
        click.echo(f"  {category:<22} n={r['n']:<4} {figure}")
    if misses:
        by_id = {ex.id: ex for ex in examples}
        from rules import mask_text

        for title, ids in (("false positives", result["false_positives"]), ("false negatives", result["false_negatives"])):
            click.echo(f"\n{title} ({len(ids)}):")
            for ex_id in ids:
                ex = by_id[ex_id]
                analysis = detector.analyze(ex.text, is_listing=ex.is_listing)
                flat = " ".join(mask_text(ex.text).split())
                click.echo(f"  {ex_id} [{ex.lang}/{ex.category}] score {analysis.score}: {flat[:160]}")
                for reason in analysis.reasons:
                    click.echo(f"      - {reason}")


def _print_cv(result: dict, as_json: bool) -> None:
    """Rules, model and combination side by side: overall, per language, per category."""
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    names = list(result)
    click.echo(f"{'cross-validated':<28}" + "".join(f"{n:>24}" for n in names))

    def line(label: str, pick) -> None:
        click.echo(f"{label:<28}" + "".join(f"{pick(result[n]):>24}" for n in names))

    line("all  P / R / F1", lambda r: f"{r['precision']:.3f} {r['recall']:.3f} {r['f1']:.3f}")
    line("mean F1 over folds", lambda r: f"{r['mean_f1']:.3f}")
    for lang in result[names[0]]["per_lang"]:
        line(f"{lang} (n={result[names[0]]['per_lang'][lang]['n']})  P / R / F1",
             lambda r, lang=lang: "{precision:.3f} {recall:.3f} {f1:.3f}".format(**r["per_lang"][lang]))
    for category, first in result[names[0]]["per_category"].items():
        key = "recall" if "recall" in first else "false_positive_rate"
        line(f"{category[:18]} {'R' if key == 'recall' else 'FP'} (n={first['n']})",
             lambda r, c=category, key=key: f"{r['per_category'][c][key]:.3f}")


@cli.command()
@db_option
@click.option("--since", metavar="DATE", help="Only posts seen on or after DATE (YYYY-MM-DD or ISO time; without an offset, "
                                               "in the team's zone, [scheduler] timezone).")
@zone_config_option
def rescore(db_path, since, config_file):
    """Re-analyse stored posts with the current rules and model and record which flags appeared or disappeared.

    Run it after changing rules or the model (`monitor model use`, `monitor train`). Review decisions on flags are kept; a flag
    the rules no longer raise is retired, not deleted.

    \b
    Example:
        monitor rescore --since 2026-11-01 --db data/monitor.db
    """
    if since:
        since = utc_since(since, zone_of(config_file))
    from ..rescore import rescore_posts

    with open_db(db_path) as db:
        summary = rescore_posts(db, _detector(db_path=db_path), since=since, progress=lambda n, total: click.echo(
            f"\r  re-scored {n}/{total} posts", nl=False, err=True) if sys.stderr.isatty() else None)
    if sys.stderr.isatty():
        click.echo("", err=True)
    click.echo(f"rescore run {summary['run_id']}: {summary['posts']} posts, {summary['appeared']} flags appeared, "
               f"{summary['disappeared']} disappeared, {summary['changed']} changed")


@cli.group()
def rules():
    """Work with the rule files in rules/.

    \b
    Example:
        monitor rules check
    """


@rules.command("check")
@click.option("--dir", "rules_dir", type=click.Path(exists=True, file_okay=False), help="Rule folder (default: the installed rules/).")
def rules_check(rules_dir):
    """Load every rule file and run every rule's match / no_match examples.

    Exits 1 and lists each failing example with its file and line.

    \b
    Example:
        monitor rules check
    """
    detector = _detector(rules_dir, warn=False)
    failures = detector.check_examples()
    examples = sum(len(r.match) + len(r.no_match) for r in detector.rules)
    if failures:
        for line in failures:
            click.echo(line)
        raise click.ClickException(f"{len(failures)} of {examples} examples failed")
    files = len({r.file for r in detector.rules})
    click.echo(f"{len(detector.rules)} rules in {files} files loaded; {examples} examples hold")


@rules.command("stats")
@click.option("--days", default=30, show_default=True, type=click.IntRange(min=1))
@db_option
@format_option()
def rules_stats(days, db_path, fmt):
    """Per rule: how many of the posts it fired on were confirmed, dismissed or escalated in the last DAYS days.

    A post counts once per rule, however many of its words the rule matched;
    escalated posts have their own column, and precision is confirmed /
    (confirmed + dismissed).

    \b
    Example:
        monitor rules stats --days 30
    """
    since = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days)).isoformat(timespec="seconds")
    with open_db(db_path) as db:
        rows = db.rule_stats(since)
    if not rows:
        sentence = (f"no decisions in the last {days} days yet: confirm, dismiss or escalate flags "
                    "(monitor review, or the review page) to measure the rules")
        if fmt == "table":
            click.echo(sentence)
            return
        click.echo(sentence, err=True)  # scripts still get an empty list / a header on stdout
    click.echo(render(rows, ["rule_id", "decided", "confirmed", "dismissed", "escalated", "precision"], fmt))
