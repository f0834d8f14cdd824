"""Sellers across sources: posts grouped by the contacts and wallets they share, transitively.

Two posts that give the same phone number, e-mail, Telegram handle or wallet
(compared by keyed fingerprint, so the store never holds the number itself)
belong to one actor; so do posts linked through a chain of such shares.
Identity numbers (NIK, KK, NPWP, cards) are the victims', not the seller's,
and never link. Union-find over the identifier rows: linear in their number,
so a seller repeating one number across 10,000 posts costs 10,000 steps.

After a crawl or an import only what changed is regrouped: the posts whose
identifiers changed (noted by triggers in `seller_changes`), the posts that
share a contact or wallet with them, and every post of the sellers all these
were in. Those make whole groups, before and after, so regrouping them alone
records what regrouping every post would, ids included, at the cost of the
sellers touched rather than of all. A seller's summary for the sellers' page
(`actor_summaries`) is rewritten when its posts or contacts change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

FULL_SHARE = 0.25
"""Regroup everything when at least this share of the grouped posts changed: reading them all is then cheaper."""


@dataclass
class Actor:
    id: str  # "A-" + the first 10 characters of the group's smallest fingerprint (more if taken): kept while the group lives
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


def rebuild_members(db, full: bool = False) -> int:
    """Record each post's actor (for the queue) and each actor's summary (for the sellers' page) after a crawl
    or an import: the posts whose contacts changed since last time and every seller they touch, or (`full`,
    or when much changed) every post. Returns how many posts were regrouped."""
    with db.transaction():
        changed = db.seller_changes()
        if not changed and not full:
            return 0
        grouped = db.actor_member_count()
        everything = full or not grouped or len(changed) >= FULL_SHARE * grouped
        posts = None if everything else db.sellers_reaching(changed)
        before = db.actor_members_of(posts)  # post id -> (actor id, the actor's posts)
        held = None
        if posts is not None:
            regrouped = {actor for actor, _ in before.values()}
            held = lambda actor_id: actor_id not in regrouped and db.actor_exists(actor_id)  # noqa: E731  another seller's
        links = db.seller_links(posts)
        groups = components(links)
        ids = assign_ids(groups, {post: actor for post, (actor, _) in before.items()}, set(db.actor_names()), held)
        after = {post: (actor_id, len(members)) for (members, _), actor_id in zip(groups, ids) for post in members}
        db.update_actor_members(before, after)
        # Summaries of the sellers whose posts or contacts changed, and of any that has none yet.
        kept = set(ids)
        touched = {after[post][0] for post in changed if post in after}
        touched |= {actor for post, (actor, n) in after.items() if before.get(post) != (actor, n)}
        touched |= kept - db.summarised_actors(kept)
        db.refresh_actor_summaries(touched, {actor for actor, _ in before.values()} - kept)
        db.clear_seller_changes()
        return len(posts) if posts is not None else len(after)


def components(links: Iterable[tuple[int, str]]) -> list[tuple[set[int], str]]:
    """(posts, smallest fingerprint) of each group of posts linked by (post id, fingerprint) pairs, directly or
    through a chain.

    Union-find over fingerprints: a post joins its other fingerprints to its first one, so a post
    with one contact (most) costs one look-up and no union, and no list or set is made per post.
    """
    first: dict[int, str] = {}  # post -> its first fingerprint
    parent: dict[str, str] = {}  # a fingerprint not in it is a root
    low: dict[str, str] = {}  # a root -> the smallest fingerprint under it, where that is not the root itself

    def root(fp: str) -> str:
        top = fp
        while (up := parent.get(top)) is not None:
            top = up
        while fp != top:  # path compression
            parent[fp], fp = top, parent[fp]
        return top

    for post, fp in links:
        if (one := first.get(post)) is None:
            first[post] = fp
        elif (a := root(one)) != (b := root(fp)):
            parent[b] = a
            low[a] = min(low.get(a, a), low.pop(b, b))
    groups: dict[str, tuple[set[int], str]] = {}
    for post, fp in first.items():
        if (group := groups.get(top := root(fp))) is None:
            group = groups[top] = (set(), low.get(top, top))
        group[0].add(post)
    return list(groups.values())


def _new_id(smallest: str, in_use: Callable[[str], bool]) -> str:
    """"A-" and the start of the group's smallest fingerprint; longer, then numbered, if another seller holds that id."""
    for candidate in ("A-" + smallest[:10], "A-" + smallest[:16], "A-" + smallest[:32]):
        if not in_use(candidate):
            return candidate
    n = 2
    while in_use(f"A-{smallest[:10]}-{n}"):
        n += 1
    return f"A-{smallest[:10]}-{n}"


def assign_ids(groups: list[tuple[set[int], str]], previous: dict[int, str], named: set[str],
               held: Callable[[str], bool] | None = None) -> list[str]:
    """An id for each group: the one its posts had before (`previous`: post id -> actor id), so a reviewer's name,
    notes and alert rules stay with the seller when it posts a new contact. When two known sellers turn out to be
    one, a named id wins, then the one more posts had; when one splits, the bigger part keeps it. A new group
    is named after its smallest fingerprint. `held`: whether an id belongs to a seller not among `groups`."""
    order = sorted(range(len(groups)), key=lambda g: (-len(groups[g][0]), groups[g][1]))  # biggest first, then a fixed order
    ids: list = [None] * len(groups)
    taken: set[str] = set()
    for g in order:
        votes: dict[str, int] = {}
        for post in groups[g][0]:
            if was := previous.get(post):
                votes[was] = votes.get(was, 0) + 1
        kept = sorted((i for i in votes if i not in taken), key=lambda i: (i not in named, -votes[i], i))
        if kept:
            ids[g] = kept[0]
            taken.add(kept[0])
    in_use = lambda i: i in taken or i in named or (held is not None and held(i))  # noqa: E731
    for g in order:
        if ids[g] is None:
            ids[g] = _new_id(groups[g][1], in_use)
            taken.add(ids[g])
    return ids


def group_actors(rows: list[dict], previous: dict[int, str] | None = None, named: set[str] | None = None) -> list[Actor]:
    """Actors from `ReportQueries.seller_identifiers` rows, with their ids (see `assign_ids`), most posts first."""
    groups = components((row["post_id"], row["fingerprint"]) for row in rows)
    ids = assign_ids(groups, previous or {}, named or set())
    actors, actor_of = [], {}
    for (posts, _), actor_id in zip(groups, ids):
        actors.append(Actor(id=actor_id))
        for post in posts:
            actor_of[post] = actors[-1]
    for row in rows:
        actor = actor_of[row["post_id"]]
        actor.posts.add(row["post_id"])
        actor.identifiers[row["fingerprint"]] = (row["kind"], row["masked"])
        actor.sources.add(row["source"])
        first, last = row["first_seen"] or "", row["last_seen"] or row["first_seen"] or ""
        actor.first_seen = min(actor.first_seen, first) if actor.first_seen else first
        actor.last_seen = max(actor.last_seen, last)
    return sorted(actors, key=lambda a: (-len(a.posts), a.id))
