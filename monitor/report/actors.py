"""Sellers across sources: posts grouped by the contacts and wallets they share, transitively.

Two posts that give the same phone number, e-mail, Telegram handle or wallet
(compared by keyed fingerprint, so the store never holds the number itself)
belong to one actor; so do posts linked through a chain of such shares.
Identity numbers (NIK, KK, NPWP, cards) are the victims', not the seller's,
and never link. Union-find over the identifier rows: linear in their number,
so a seller repeating one number across 10,000 posts costs 10,000 steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Actor:
    id: str  # "A-" + the first 10 characters of the group's smallest fingerprint: stable while the group keeps it
    posts: set[int] = field(default_factory=set)
    identifiers: dict[str, tuple[str, str]] = field(default_factory=dict)  # fingerprint -> (kind, masked)
    sources: set[str] = field(default_factory=set)
    first_seen: str = ""
    last_seen: str = ""

    def as_dict(self) -> dict:
        return {"id": self.id, "posts": len(self.posts), "sources": sorted(self.sources), "first_seen": self.first_seen,
                "last_seen": self.last_seen,
                "identifiers": [{"kind": k, "masked": m} for k, m in sorted(self.identifiers.values())]}


def current_actors(db) -> list[Actor]:
    """The sellers as of now, keeping the ids they had (`actor_members`), named ones first when groups merge."""
    return group_actors(db.seller_identifiers(), db.actor_membership(), set(db.actor_names()))


def rebuild_members(db) -> int:
    """Record every post's actor for the queue (after a crawl or an import); returns how many actors there are."""
    actors = current_actors(db)
    db.replace_actor_members([(post, actor.id, len(actor.posts)) for actor in actors for post in actor.posts])
    return len(actors)


def group_actors(rows: list[dict], previous: dict[int, str] | None = None, named: set[str] | None = None) -> list[Actor]:
    """Actors from `ReportQueries.seller_identifiers` rows.

    An actor keeps the id its posts had before (`previous`: post id -> actor id), so a reviewer's
    name, notes and alert rules stay with the seller when it posts a new contact; when two known
    sellers turn out to be one, a named id wins, then the one more posts had. A new group is named
    after its smallest fingerprint.
    """
    previous, named = previous or {}, named or set()
    parent: dict = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for row in rows:  # a post joins each of its fingerprints
        a, b = find(("post", row["post_id"])), find(("fp", row["fingerprint"]))
        if a != b:
            parent[a] = b
    groups: dict = {}
    for row in rows:
        root = find(("post", row["post_id"]))
        actor = groups.setdefault(root, Actor(id=""))
        actor.posts.add(row["post_id"])
        actor.identifiers[row["fingerprint"]] = (row["kind"], row["masked"])
        actor.sources.add(row["source"])
        first, last = row["first_seen"] or "", row["last_seen"] or row["first_seen"] or ""
        actor.first_seen = min(actor.first_seen, first) if actor.first_seen else first
        actor.last_seen = max(actor.last_seen, last)
    actors, taken = [], set()
    for actor in sorted(groups.values(), key=lambda a: -len(a.posts)):
        votes: dict[str, int] = {}
        for post in actor.posts:
            if previous.get(post):
                votes[previous[post]] = votes.get(previous[post], 0) + 1
        kept = sorted((i for i in votes if i not in taken), key=lambda i: (i not in named, -votes[i], i))
        actor.id = kept[0] if kept else "A-" + min(actor.identifiers)[:10]
        taken.add(actor.id)
        actors.append(actor)
    return sorted(actors, key=lambda a: (-len(a.posts), a.id))
