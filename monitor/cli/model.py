"""Commands about the learned model: train one, list the versions, choose the one in use."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..escaping import terminal_safe
from .app import cli, db_option, open_db, zone_config_option, zone_of


@cli.command()
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@db_option
@click.option("--no-reviews", is_flag=True, help="Learn from FILES only, not from the review decisions in the database.")
@click.option("--force", is_flag=True, help="Make the new model current even if it scores worse than the current one.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), metavar="DIR",
              help="Write model.json and manifest.json to DIR instead of adding a version (builds the shipped default); "
                   "learns from FILES only, like --no-reviews.")
@click.option("--cv", "folds", default=5, show_default=True, type=click.IntRange(min=2), metavar="K",
              help="Folds of the grouped cross-validation whose scores go into the manifest.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome (version, comparison, manifest) as JSON.")
def train(files, db_path, no_reviews, force, out_dir, folds, as_json):
    """Train the learned model from labelled JSONL FILES and the team's review decisions.

    Confirmed, escalated or taken-down flags are sales of the flag's category;
    flags dismissed as a news report or as not a sale are non-sales; duplicates
    and other dismissals are left out. Bad rows are reported as FILE:LINE and
    skipped. One reviewed source in five (one post in five when there are
    fewer than 10 sources) is held out, never trained on: the new model is
    scored against the current one on it, and on FILES by its cross-validated
    predictions, side by side; it becomes the current model only if it is not
    worse on either (or with --force). Every model is
    kept as a version in the models folder beside the database.

    \b
    Example:
        monitor train ../shared/eval/dev.jsonl ../shared/eval/train.jsonl
        monitor train                      # from the review decisions alone
        monitor train ../shared/eval/*.jsonl --no-reviews --out rules/models/default
    """
    from rules.model import ModelError

    from ..learning import registry
    from ..learning.training import TrainingError, compare, gather, train as train_model
    from .rules import _detector

    say = (lambda message: click.echo(message, err=True)) if not as_json else (lambda message: None)
    if not files:
        _warn_without_files(db_path)
    db = None if (no_reviews or out_dir) else open_db(db_path)
    try:
        try:
            training = gather(list(files), db)
        finally:
            if db is not None:
                db.close()
        for problem in training.problems:
            click.echo(f"skipped {problem}", err=True)
        detector = _detector(db_path=db_path, warn=False)
        model, manifest = train_model(training, detector, cv_folds=folds, progress=say)
    except TrainingError as exc:
        raise click.ClickException(str(exc)) from None
    outcome: dict = {"manifest": manifest, "skipped_rows": len(training.problems)}
    if out_dir:
        outcome["manifest"] = registry.write_model(Path(out_dir), model, manifest)
        outcome["written"] = str(out_dir)
        _report(outcome, as_json, f"model written to {out_dir}")
        return
    current, current_version, _ = registry.load_current(db_path)
    comparison = compare(model, current, detector, training)
    version = f"{manifest['created'].replace('-', '').replace(':', '')}-{manifest['training_sha256'][:8]}"
    try:
        registry.save_version(db_path, model, manifest, version)
    except FileExistsError:
        raise click.ClickException(f"model version {version} exists already (same data, same second); try again") from None
    outcome.update(version=version, compared_with=current_version or "rules only", comparison=comparison)
    if comparison["better_or_equal"] or force:
        try:
            registry.use_version(db_path, version)
        except ModelError as exc:
            raise click.ClickException(str(exc)) from None
        outcome["current"] = True
        verdict = f"model {version} is now current" + ("" if comparison["better_or_equal"] else " (forced, though it scored worse)")
    elif not comparison["parts"]:
        outcome["current"] = False
        verdict = (f"model {version} kept but NOT made current: there was nothing to compare it on (no held-out "
                   f"reviewed posts, no cross-validated labelled files); `monitor model use {version}` or "
                   "`monitor train --force` makes it current")
    else:
        outcome["current"] = False
        verdict = (f"model {version} kept but NOT made current: it scored worse than {current_version or 'the rules'}; "
                   f"`monitor model use {version}` or `monitor train --force` makes it current")
    _report(outcome, as_json, verdict)


def _warn_without_files(db_path) -> None:
    """Training from decisions alone drops what the current model learned from its files: say so."""
    from ..learning import registry

    for v in registry.list_versions(db_path):
        files = v.manifest.get("files")
        if v.current and isinstance(files, list) and files:
            names = ", ".join(str(f.get("name", "?")) if isinstance(f, dict) else "?" for f in files)
            click.echo(f"warning: no labelled files given: the new model learns from the review decisions alone; "
                       f"the current model ({v.version}) also learned from {names} ({v.manifest.get('examples', '?')} "
                       "posts): pass those files to keep what it learned", err=True)


def _report(outcome: dict, as_json: bool, verdict: str) -> None:
    if as_json:
        click.echo(json.dumps(outcome, ensure_ascii=False, indent=2))
        return
    manifest = outcome["manifest"]
    click.echo(f"trained on {manifest['examples']} posts ({', '.join(f'{k} {v}' for k, v in manifest['by_lang_label'].items())}); "
               f"{manifest['reviewed_posts']} reviewed posts, {manifest['heldout_posts']} held out")
    cv = manifest.get("cv") or {}
    if "f1" in cv:
        per_lang = "; ".join(f"{lang} P {r['precision']:.3f} R {r['recall']:.3f} F1 {r['f1']:.3f}" for lang, r in cv["per_lang"].items())
        click.echo(f"grouped {cv['folds']}-fold CV: P {cv['precision']:.3f} R {cv['recall']:.3f} F1 {cv['f1']:.3f} ({per_lang})")
    elif cv.get("error"):
        click.echo(f"no cross-validation: {cv['error']}")
    for part, row in (outcome.get("comparison") or {}).get("parts", {}).items():
        click.echo(f"{part:<18} " + "   ".join(
            f"{name} P {r['precision']:.3f} R {r['recall']:.3f} F1 {r['f1']:.3f} (n={r['n']})" for name, r in row.items()))
    click.echo(verdict)


@cli.group()
def model():
    """The learned model's versions: list them, choose the one in use.

    \b
    Example:
        monitor model list
        monitor model use default
    """


@model.command("list")
@db_option
@zone_config_option
@click.option("--json", "as_json", is_flag=True, help="Print the versions and their manifests as JSON (as written: times in UTC).")
def model_list(db_path, config_file, as_json):
    """List the shipped default and the trained versions; `*` marks the current one.

    Each line: version, when it was trained (in the team's time zone,
    [scheduler] timezone), how many posts, its cross-validated F1 and
    precision, and the start of its training data's hash.

    \b
    Example:
        monitor model list --db data/monitor.db
    """
    from ..learning import registry

    versions = registry.list_versions(db_path)
    if as_json:
        click.echo(json.dumps([{"version": v.version, "current": v.current, "path": str(v.path), "manifest": v.manifest}
                               for v in versions], ensure_ascii=False, indent=2))
        return
    from ..timefmt import local_label

    zone = zone_of(config_file)
    if not any(v.current for v in versions):
        click.echo(f"current: {registry.current_version(db_path)} (not found: analysis uses the rules alone)", err=True)
    for v in versions:
        m = v.manifest
        if "error" in m:
            click.echo(terminal_safe(f"{'*' if v.current else ' '} {v.version:<28} unusable: {m['error']}"))
            continue
        try:
            cv = m.get("cv") or {}
            figure = f"CV F1 {cv['f1']:.3f} P {cv['precision']:.3f}" if isinstance(cv, dict) and "f1" in cv else "no CV"
            line = (f"{'*' if v.current else ' '} {v.version:<28} {str(local_label(m.get('created', '?'), zone)):<21} "
                    f"{str(m.get('examples', '?')):>6} posts  {figure}  data {str(m.get('training_sha256', ''))[:12]}")
        except (TypeError, ValueError, KeyError):
            line = f"{'*' if v.current else ' '} {v.version:<28} unusable: the manifest's fields are not what `monitor train` writes"
        click.echo(terminal_safe(line))


@model.command("use")
@click.argument("version")
@db_option
def model_use(version, db_path):
    """Make VERSION the current model (`default` is the shipped one); run `monitor rescore` after.

    The model is checked (its manifest's SHA-256, its format) before it is made current:
    rolling back to a damaged file is refused.

    \b
    Example:
        monitor model use 20261206T023129Z-5f2c9a1b
        monitor model use default
    """
    from rules.model import ModelError

    from ..learning import registry

    try:
        chosen = registry.use_version(db_path, version)
    except ModelError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"model {chosen.version} is now current; `monitor rescore` applies it to stored posts")
    if registry.current_version(db_path) != version:
        click.echo(f"note: MONITOR_MODEL={registry.current_version(db_path)} in the environment overrides it", err=True)
    sys.stdout.flush()
