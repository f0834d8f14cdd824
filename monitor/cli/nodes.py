"""`monitor nodes`: the configured Scrapyd nodes, whether they answer, and the crawls running on them."""

from __future__ import annotations

import click

from .app import cli, config_option, db_option, open_db
from .output import format_option, render


def node_rows(cluster, locks: list[dict]) -> list[dict]:
    """One row per node: its health (ok, or why not), its job counts, and the project's running jobs
    with the source each crawls (from the locks this database holds)."""
    from ..crawl.scrapyd import NodeClient, NodeError

    by_job = {(lock["node"], lock["job_id"]): lock for lock in locks}
    rows = []
    for node in cluster.nodes.values():
        row = {"node": node.name, "url": node.url, "status": "ok", "running": None, "pending": None, "finished": None,
               "jobs": [], "problem": None}
        client = NodeClient(node, timeout=5)
        try:
            status = client.status()
            row.update({k: status.get(k) for k in ("running", "pending", "finished")})
            jobs = client.jobs(cluster.project)
        except NodeError as exc:
            row["status"] = "refused" if exc.refused else "unreachable"
            row["problem"] = exc.reason
            rows.append(row)
            continue
        for entry in jobs.get("running") or []:
            lock = by_job.get((node.name, entry.get("id")), {})
            row["jobs"].append({"job": entry.get("id"), "spider": entry.get("spider"), "source": lock.get("source"),
                                "run_id": lock.get("run_id"), "start_time": entry.get("start_time")})
        rows.append(row)
    return rows


@cli.command("nodes")
@config_option
@db_option
@format_option()
def nodes_cmd(config_file, db_path, fmt):
    """List the Scrapyd nodes of the configuration's [scrapyd] table: whether each answers, its running,
    pending and finished jobs, and which source each running job of this project crawls.

    Exits 1 when a node does not answer (for a cron health check).

    \b
    Example:
        monitor nodes --config data/sources.toml
    """
    from ..config import ConfigError, config_path, load_config

    try:
        config = load_config(config_path(config_file))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if config.cluster is None:
        raise click.ClickException(f"{config.path}: no [scrapyd] table: crawls run on this machine (see README, Scaling out)")
    with open_db(db_path) as db:
        locks = db.node_jobs()
    rows = node_rows(config.cluster, locks)
    if fmt == "table":
        for row in rows:
            row["running_jobs"] = ", ".join(f"{j['job']} ({j['source'] or j['spider']})" for j in row["jobs"]) or row["problem"] or ""
    click.echo(render(rows, ["node", "url", "status", "running", "pending", "finished", "problem"], fmt,
                      ["node", "url", "status", "running", "pending", "finished", "running_jobs"]))
    if any(row["status"] != "ok" for row in rows):
        raise SystemExit(1)
