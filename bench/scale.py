"""The scale run (`run.py --scale`): the same requests at 10,000 and at 1,000,000 posts.

No request's cost may grow with the tables: each request's p50 at a million posts is
reported beside its p50 on the regular data, with the ratio (target: at most 2).
"""

import time
from dataclasses import dataclass
from typing import Any

from load import Endpoint, LoadResult, drive
from processes import Server
from project import BENCH, Database

MAX_P50_RATIO = 2.0
# Few connections, so latencies are the requests' own rather than queueing.
THREADS, CONNECTIONS, SECONDS = 1, 4, 5
TRIGRAM_INDEX = (
    "CREATE INDEX CONCURRENTLY ix_posts_title_trgm ON posts USING gin (title gin_trgm_ops)"
)


@dataclass(frozen=True)
class Probe:
    """One request of the comparison; `path` is filled in from the data it runs on."""

    name: str
    path: str


def probes(database: Database) -> list[Probe]:
    """The requests to compare. The post without votes is the same on both data sets; the
    most-voted one is the post every user voted for, once the scale data is in."""
    no_votes = database.sql(
        "SELECT min(id) FROM posts p WHERE NOT EXISTS (SELECT FROM votes WHERE post_id = p.id)"
    ).strip()
    most_voted, votes = database.sql(
        "SELECT post_id || ' ' || count(*) FROM votes GROUP BY post_id"
        " ORDER BY count(*) DESC, post_id LIMIT 1"
    ).split()
    return [
        Probe("first page", "/posts/?limit=10"),
        Probe("oldest page, by `before`", "/posts/?limit=10&before=11"),
        Probe("search, a word every title holds", "/posts/?limit=10&search=Post"),
        Probe("search, a word no title holds", "/posts/?limit=10&search=zzzzq"),
        Probe("a post with no votes", f"/posts/{no_votes}"),
        Probe(f"the most-voted post ({votes} votes)", f"/posts/{most_voted}"),
    ]


def measure(wrk: str, app: Server, token: str, database: Database) -> list[dict[str, Any]]:
    results = []
    for probe in probes(database):
        endpoint = Endpoint("GET", probe.path, target_ratio=0)
        drive(wrk, app, endpoint, token, threads=THREADS, connections=CONNECTIONS, seconds=1)
        run = drive(
            wrk, app, endpoint, token, threads=THREADS, connections=CONNECTIONS, seconds=SECONDS
        )
        results.append({"name": probe.name, "path": probe.path, **summary(run)})
    return results


def summary(run: LoadResult) -> dict[str, Any]:
    return {"p50_ms": run.p50_ms, "p99_ms": run.p99_ms, "errors": run.errors}


def grow(database: Database) -> dict[str, Any]:
    """Add the scale data; the seeding and the index build times, and the row counts."""
    started = time.monotonic()
    output = database.sql_file(BENCH / "scale.sql")
    seeded = time.monotonic()
    database.sql(TRIGRAM_INDEX, "VACUUM ANALYZE users, posts, votes")
    indexed = time.monotonic()
    users, posts, votes = map(int, output.split())
    return {
        "users": users,
        "posts": posts,
        "votes": votes,
        "seed_s": round(seeded - started, 1),
        "index_and_analyze_s": round(indexed - seeded, 1),
    }


def compare(wrk: str, app: Server, token: str, database: Database) -> dict[str, Any]:
    """Measure the probes, grow the data, measure them again."""
    small = measure(wrk, app, token, database)
    data = grow(database)
    large = measure(wrk, app, token, database)
    rows = []
    for before, after in zip(small, large, strict=True):
        ratio = after["p50_ms"] / before["p50_ms"]
        rows.append({"name": after["name"], "small": before, "large": after,
                     "p50_ratio": round(ratio, 2), "met": ratio <= MAX_P50_RATIO})  # fmt: skip
    return {"data": data, "load": {"threads": THREADS, "connections": CONNECTIONS,
                                   "seconds": SECONDS}, "requests": rows}  # fmt: skip


def markdown(scale: dict[str, Any]) -> str:
    data = scale["data"]
    lines = [
        f"### At scale: {data['posts']:,} posts, {data['votes']:,} votes, {data['users']:,} users",
        "",
        f"Seeded in {data['seed_s']} s; trigram index built and tables analyzed in"
        f" {data['index_and_analyze_s']} s. wrk -t{THREADS} -c{CONNECTIONS} -d{SECONDS}s per"
        f" request; target: p50 at most {MAX_P50_RATIO:g}x its value on the regular data.",
        "",
        "| request | p50 ms, 10k | p99 ms, 10k | p50 ms, 1M | p99 ms, 1M | p50 ratio | errors |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for row in scale["requests"]:
        small, large = row["small"], row["large"]
        ratio = f"{row['p50_ratio']:.2f}" + ("" if row["met"] else " (missed)")
        lines.append(
            f"| {row['name']} | {small['p50_ms']:.2f} | {small['p99_ms']:.2f} |"
            f" {large['p50_ms']:.2f} | {large['p99_ms']:.2f} | {ratio} |"
            f" {small['errors'] + large['errors']} |"
        )
    return "\n".join(lines)
