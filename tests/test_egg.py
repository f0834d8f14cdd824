"""The Scrapyd egg: built as a user deploys it, then run with nothing of the checkout on the path.

A Scrapyd node puts the zipped egg on sys.path and finds the settings through the egg's `scrapy`
entry point. Two ways this broke while `scrapyd-deploy` still exited 0: setuptools dropped the entry
point that scrapyd-deploy's generated setup.py declares (the node answered "'NoneType' object has no
attribute 'module_name'"), and code that read its data through `Path(__file__)` could not see inside
the zip (every forum crawl died with "unknown forum engine 'mybb'"). The crawls below run in
`python -S -P` children: no .pth file (so not the editable install of this checkout), no current
folder, only the egg and the venv's site-packages.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from sitesrv import SavedSite, SiteServer

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("monitor", "rules", "spiders")
SITE = "mybb18-default"  # pages a real MyBB 1.8.37 rendered; expected.json is MyBB's own record of the posts
SITE_PACKAGES = list(dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib")))


def left_out(folder: str, names: list[str]) -> list[str]:
    """What a deploy does not read: git, the venv, tests, the local data folder, earlier build output, caches."""
    top = {".git", ".venv", "data", "tests", "build", "dist", ".hypothesis", ".pytest_cache"} if Path(folder) == ROOT else set()
    return [n for n in names if n in top or n == "__pycache__" or n.endswith(".egg-info")]


FROM_EGG = """
import json, sys
import monitor, rules, spiders
egg = sys.argv[1]
outside = [f"{m.__name__}: {m.__file__}" for m in (monitor, rules, spiders) if not m.__file__.startswith(egg + "/")]
if outside:
    sys.exit(f"imported from outside the egg: {outside}")
"""
CRAWL = FROM_EGG + """
from scrapy.cmdline import execute
execute(["scrapy", *sys.argv[2:]])
"""
READ_DATA = FROM_EGG + """
from monitor.demo.site import DemoSite
from monitor.learning.registry import SHIPPED, load_folder
from monitor.takedown.batches import letter_environment
from monitor.takedown.registry import load_registry
from rules import Detector
from rules.identifiers import region_codes
from rules.reasons import catalogue
from spiders.presets import engines, load_preset
print(json.dumps({
    "presets": {engine: load_preset(engine)["name"] for engine in engines()},
    "rules": [rule.id for rule in Detector().rules],
    "regions": len(region_codes()),
    "reasons": sorted(catalogue()),
    "model": load_folder(SHIPPED)[1]["model_sha256"],
    "platforms": [p.id for p in load_registry().platforms],
    "letters": [letter_environment().get_template(f"letter_{lang}.md").filename for lang in ("id", "en")],
    "demo": [DemoSite().render(f"/forum/attachments/{name}", "")[1] for name in ("sample-selfie-blur.jpg", "tg-43.jpg")],
}))
"""


@pytest.fixture(scope="module")
def egg(tmp_path_factory) -> Path:
    """`scrapyd-deploy --build-egg` run in the project's root, in a copy of the checkout: the command leaves
    a generated setup.py, build/ and an egg-info where it runs, which must not land in the checkout."""
    work = tmp_path_factory.mktemp("deploy")
    project = work / "project"
    shutil.copytree(ROOT, project, ignore=left_out)
    deploy = Path(sys.executable).with_name("scrapyd-deploy")
    if not deploy.exists():
        pytest.fail("scrapyd-deploy is not installed: scripts/setup installs it with the test extras")
    path = work / "datasale.egg"
    env = {**os.environ, "TMPDIR": str(work)}  # scrapyd-deploy --build-egg never removes its own temporary folder
    result = subprocess.run([str(deploy), "--debug", "--build-egg", str(path)], cwd=project, env=env,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0 and path.is_file(), (
        f"setuptools {importlib.metadata.version('setuptools')} (pyproject.toml says which work)\n"
        + (result.stdout + result.stderr)[-4000:])
    return path


def child_env(pythonpath: list, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "SCRAPY"))}
    return {**env, "PYTHONPATH": os.pathsep.join(map(str, pythonpath)), **extra}


def forum_args(srv) -> list[str]:
    return ["crawl", "forum", "-a", "source=x", "-a", f"base_url={srv.url}/index.php", "-a", "engine=mybb",
            "-a", "timezone=+07:00", "-O", "out.jl"]


def assert_every_post(out: Path) -> None:
    """The posts as MyBB's database records them: every one, with its thread's title and its author."""
    want = json.loads((ROOT / "tests" / "sites" / SITE / "expected.json").read_text(encoding="utf-8"))["posts"]
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    got = {(r["post_id"], r["thread_title"], r["author"]) for r in rows}
    assert len(rows) == len(want) == 54
    assert got == {(str(p["pid"]), p["thread_subject"], p["username"]) for p in want}
    assert ("1", "[PENTING] Peraturan jual-beli di sub Databases", "admin") in got


def test_the_egg_declares_the_settings_and_holds_every_data_file(egg):
    """Every file beside the code in monitor/, rules/ and spiders/ is in the egg, and the settings entry point."""
    with zipfile.ZipFile(egg) as z:
        names = set(z.namelist())
    shipped = {path.relative_to(ROOT).as_posix() for package in PACKAGES for path in (ROOT / package).rglob("*")
               if path.is_file() and path.suffix not in (".py", ".pyc") and not path.name.startswith(".")}
    assert {"spiders/presets/mybb.toml", "rules/intent.toml", "rules/data/wilayah.csv", "rules/data/NOTICE.md",
            "rules/data/reasons.toml", "rules/models/default/manifest.json", "monitor/takedown/data/letter_id.md",
            "monitor/demo/site.toml", "monitor/demo/images/tg-43.jpg"} <= shipped
    assert shipped - names == set(), "data files missing from the egg: add them to package-data in pyproject.toml"
    assert "EGG-INFO/entry_points.txt" in names
    # The lookup scrapyd's runner makes (pkg_resources there, the same metadata here).
    metadata = importlib.metadata.PathDistribution(zipfile.Path(egg, "EGG-INFO/"))
    assert [e.value for e in metadata.entry_points.select(group="scrapy", name="settings")] == ["spiders.settings"]


def test_every_data_file_reads_from_the_zipped_egg(egg, tmp_path):
    """Presets, rules, region codes, reasons, the shipped model, the takedown registry and letters, the demo:
    each read from inside the zip, and the same as the checkout's."""
    from monitor.learning.registry import SHIPPED, load_folder
    from monitor.takedown.registry import load_registry
    from rules import load_rules
    from rules.identifiers import region_codes
    from rules.reasons import catalogue
    from spiders.presets import engines, load_preset

    result = subprocess.run([sys.executable, "-S", "-P", "-c", READ_DATA, str(egg)], cwd=tmp_path,
                            env=child_env([egg, *SITE_PACKAGES]), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    read = json.loads(result.stdout)
    assert read["presets"] == {engine: load_preset(engine)["name"] for engine in engines()}
    assert set(read["presets"]) >= {"mybb", "phpbb", "xenforo"}
    assert read["rules"] == [rule.id for rule in load_rules()]
    assert read["regions"] == len(region_codes()) > 7000
    assert read["reasons"] == sorted(catalogue())
    assert read["model"] == load_folder(SHIPPED)[1]["model_sha256"]
    assert read["platforms"] == [p.id for p in load_registry().platforms]
    assert all(name.startswith(f"{egg}/monitor/takedown/data/") for name in read["letters"]), read["letters"]
    assert read["demo"] == ["image/jpeg", "image/jpeg"]


def test_a_forum_is_crawled_from_the_egg_alone(egg, tmp_path):
    """`scrapy crawl forum` with the egg as the only copy of the project: presets, settings and spiders from the zip."""
    with SiteServer(SavedSite(SITE)) as srv:
        env = child_env([egg, *SITE_PACKAGES], SCRAPY_SETTINGS_MODULE="spiders.settings")
        result = subprocess.run([sys.executable, "-S", "-P", "-c", CRAWL, str(egg), *forum_args(srv)],
                                cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert_every_post(tmp_path / "out.jl")


def test_scrapyds_runner_activates_the_egg_and_crawls(egg, tmp_path):
    """What a node runs for a job: `python -m scrapyd.runner crawl ...` with the project's egg in its egg
    storage. The egg is not on PYTHONPATH and no settings module is named: the runner adds the egg to the
    path and takes the settings module from the egg's entry point, or the crawl has no spider to run."""
    (tmp_path / "scrapyd.conf").write_text("[scrapyd]\neggs_dir = eggs\n", encoding="utf-8")
    (tmp_path / "eggs" / "datasale").mkdir(parents=True)
    shutil.copyfile(egg, tmp_path / "eggs" / "datasale" / "1_0.egg")
    with SiteServer(SavedSite(SITE)) as srv:
        result = subprocess.run([sys.executable, "-S", "-P", "-m", "scrapyd.runner", *forum_args(srv), "-a", "_job=1"],
                                cwd=tmp_path, env=child_env(SITE_PACKAGES, SCRAPY_PROJECT="datasale"),
                                capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert_every_post(tmp_path / "out.jl")
