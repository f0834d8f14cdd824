"""Model versions in the data folder, the current one, and the detector built on it.

`<data folder>/models/<VERSION>/model.json` and `manifest.json`; `models/CURRENT` names the
version in use. Without one, the model shipped in the package (`rules/models/default`) is used.
The manifest records the model file's SHA-256, so a damaged file is refused before it is read.
`MONITOR_MODEL` (environment) overrides: a version, `default`, or `none` for the rules alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from rules import Detector
from rules.model import LinearModel, ModelError

from ..store.common import private_dir, write_private

SHIPPED = files("rules") / "models" / "default"
"""The model shipped in the package, as a Traversable (it reads from a zipped egg too); trained ones are Paths."""
DEFAULT_VERSION = "default"
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,80}")


@dataclass
class ModelVersion:
    version: str
    path: Path | Traversable  # the folder with model.json and manifest.json (SHIPPED for the default)
    manifest: dict
    current: bool = False


def models_dir(db_path: str | os.PathLike) -> Path:
    return Path(db_path).resolve().parent / "models"


def read_manifest(folder: Path | Traversable) -> dict:
    try:
        data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise ModelError(f"{folder / 'manifest.json'}: cannot read the manifest ({exc}); "
                         "train a model with `monitor train` or pick another with `monitor model use VERSION`") from None
    if not isinstance(data, dict):
        raise ModelError(f"{folder / 'manifest.json'}: not a manifest")
    return data


def load_folder(folder: Path | Traversable) -> tuple[LinearModel, dict]:
    """The model in `folder`, checked against its manifest's SHA-256 before it is parsed."""
    manifest = read_manifest(folder)
    path = folder / "model.json"
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the model file ({exc.strerror or exc}); train one with `monitor train` "
                         "or pick another with `monitor model use VERSION`") from None
    if digest != manifest.get("model_sha256"):
        raise ModelError(f"{path}: the file does not match its manifest (SHA-256 differs): damaged or replaced; "
                         "train a new one with `monitor train` or pick another with `monitor model use VERSION`")
    return LinearModel.load(path), manifest


def list_versions(db_path) -> list[ModelVersion]:
    """The shipped default and every trained version, oldest first; `current` marks the one in use."""
    current = current_version(db_path)
    out = []
    if (SHIPPED / "manifest.json").is_file():
        out.append(ModelVersion(DEFAULT_VERSION, SHIPPED, _manifest_or_error(SHIPPED)))
    folder = models_dir(db_path)
    if folder.is_dir():
        for sub in sorted(p for p in folder.iterdir() if p.is_dir() and _VERSION.fullmatch(p.name)):
            out.append(ModelVersion(sub.name, sub, _manifest_or_error(sub)))
    for v in out:
        v.current = v.version == current
    return out


def _manifest_or_error(folder: Path | Traversable) -> dict:
    try:
        return read_manifest(folder)
    except ModelError as exc:
        return {"error": str(exc)}


def current_version(db_path) -> str:
    chosen = os.environ.get("MONITOR_MODEL", "").strip()
    if chosen:
        return chosen
    marker = models_dir(db_path) / "CURRENT"
    try:
        return marker.read_text(encoding="utf-8").strip()[:100] or DEFAULT_VERSION
    except FileNotFoundError:
        return DEFAULT_VERSION
    except (OSError, ValueError):  # unreadable or not text: folder_of refuses the name, analysis warns
        return "(unreadable CURRENT file)"


def folder_of(db_path, version: str) -> Path | Traversable:
    if version == DEFAULT_VERSION:
        return SHIPPED
    if not _VERSION.fullmatch(version):
        raise ModelError(f"{version!r} is not a model version; `monitor model list` shows them")
    return models_dir(db_path) / version


def use_version(db_path, version: str) -> ModelVersion:
    """Make `version` the current model, after checking that it loads."""
    folder = folder_of(db_path, version)
    if not folder.is_dir():
        raise ModelError(f"no model version {version!r} in {models_dir(db_path)}; `monitor model list` shows them")
    _, manifest = load_folder(folder)
    target = models_dir(db_path)
    private_dir(target)
    write_private(target / "CURRENT", (version + "\n").encode("utf-8"))  # two writers at once: the last one wins
    return ModelVersion(version, folder, manifest, True)


def save_version(db_path, model: LinearModel, manifest: dict, version: str) -> Path:
    """Write a trained model and its manifest as a new version folder (not made current)."""
    private_dir(models_dir(db_path))
    folder = models_dir(db_path) / version
    folder.mkdir(exist_ok=False)
    write_model(folder, model, manifest)
    return folder


def write_model(folder: Path, model: LinearModel, manifest: dict) -> dict:
    """model.json, then manifest.json with the model's SHA-256 (the manifest last: a half-written
    folder has no manifest and is never taken for a model)."""
    private_dir(folder)
    data = model.to_bytes()
    write_private(folder / "model.json", data)
    manifest = {**manifest, "model_sha256": hashlib.sha256(data).hexdigest()}
    write_private(folder / "manifest.json",
                  (json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8"))
    return manifest


def load_current(db_path) -> tuple[LinearModel | None, str | None, list[str]]:
    """(model, version, warnings): the current model, or (None, None, [why]) to fall back to the rules;
    the warnings are reason parts (rules.reasons), so each reader reads them in their language.

    Never raises: a crawl must not die on a damaged model file; each analysis carries the warning.
    """
    version = current_version(db_path)
    if version.lower() == "none":
        return None, None, []
    try:
        folder = folder_of(db_path, version)
        if not folder.is_dir():
            raise ModelError(f"model version {version!r} not found in {models_dir(db_path)}; "
                             "`monitor model list` shows them, `monitor model use VERSION` picks one")
        model, _ = load_folder(folder)
    except ModelError as exc:
        return None, None, [{"kind": "model_unavailable", "detail": str(exc)}]
    return model, version, []


def build_detector(db_path=None, rules_dir=None, explain_all: bool = True) -> Detector:
    """The detector the product runs: the rules with the current model (or the rules alone, warned).

    `explain_all=False` for storing posts: the model's words are listed for sales only."""
    from ..store import DEFAULT_DB

    model, version, warnings = load_current(db_path or DEFAULT_DB)
    return Detector(rules_dir=rules_dir, model=model, model_version=version, warnings=warnings, explain_all=explain_all)
