"""The benchmark's results: a Markdown report for people and a JSON file for comparisons."""

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from load import Endpoint, LoadResult

MAX_P99_RATIO = 3.0
MAX_SECONDS_PER_TEST = 0.08


@dataclass
class EndpointResults:
    """Every run of one endpoint, against the app and the baseline."""

    endpoint: Endpoint
    app: list[LoadResult] = field(default_factory=list)
    baseline: list[LoadResult] = field(default_factory=list)

    def ratio(self) -> float:
        return median(self.app, "requests_per_second") / median(
            self.baseline, "requests_per_second"
        )

    def p99_ratio(self) -> float:
        return median(self.app, "p99_ms") / median(self.baseline, "p99_ms")

    def errors(self) -> int:
        return sum(run.errors for run in self.app)

    def missed(self) -> list[str]:
        """The targets of issue 5 this endpoint misses (reported, never asserted)."""
        missed = []
        if self.ratio() < self.endpoint.target_ratio:
            missed.append(f"req/s {self.ratio():.2f}x < {self.endpoint.target_ratio:.2f}x")
        if self.p99_ratio() > MAX_P99_RATIO:
            missed.append(f"p99 {self.p99_ratio():.1f}x > {MAX_P99_RATIO:.0f}x")
        if self.errors():
            missed.append(f"{self.errors()} errors")
        return missed

    def as_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint.name,
            "target_ratio": self.endpoint.target_ratio,
            "ratio": round(self.ratio(), 3),
            "p99_ratio": round(self.p99_ratio(), 3),
            "missed": self.missed(),
            "app": summary(self.app),
            "baseline": summary(self.baseline),
            "runs": {
                "app": [run.as_dict() for run in self.app],
                "baseline": [run.as_dict() for run in self.baseline],
            },
        }


def median(runs: list[LoadResult], metric: str) -> float:
    return float(statistics.median(getattr(run, metric) for run in runs))


def summary(runs: list[LoadResult]) -> dict[str, float]:
    """Medians over the rounds; errors summed."""
    metrics = ["requests_per_second", "p50_ms", "p99_ms", "cpu_ms_per_request"]
    return {metric: median(runs, metric) for metric in metrics} | {
        "errors": sum(run.errors for run in runs)
    }


def markdown(results: dict[str, Any], endpoints: list[EndpointResults]) -> str:
    load = results["load"]
    lines = [
        f"## Load: wrk -t{load['threads']} -c{load['connections']} -d{load['seconds']:g}s, "
        f"{load['rounds']} round(s), medians",
        "",
        "| endpoint | app req/s | baseline req/s | ratio (target) | app p50 / p99 ms "
        "| baseline p50 / p99 ms | p99 ratio (≤3) | errors app / baseline "
        "| CPU ms/req app / baseline |",
        "|---|--:|--:|---|--:|--:|--:|--:|--:|",
    ]
    for result in endpoints:
        app, base = summary(result.app), summary(result.baseline)
        verdict = "missed" if result.ratio() < result.endpoint.target_ratio else "met"
        lines.append(
            f"| `{result.endpoint.name}` "
            f"| {app['requests_per_second']:,.0f} | {base['requests_per_second']:,.0f} "
            f"| {result.ratio():.2f} {verdict} (≥{result.endpoint.target_ratio:.2f}) "
            f"| {app['p50_ms']:.1f} / {app['p99_ms']:.1f} "
            f"| {base['p50_ms']:.1f} / {base['p99_ms']:.1f} "
            f"| {result.p99_ratio():.1f} "
            f"| {app['errors']:.0f} / {base['errors']:.0f} "
            f"| {app['cpu_ms_per_request']:.2f} / {base['cpu_ms_per_request']:.2f} |"
        )
    timings, tests, data = results["timings"], results["tests"], results["data"]
    lines += [
        "",
        "## Project",
        "",
        "| step | result |",
        "|---|--:|",
        f"| bake (`cookiecutter --no-input`) | {timings['bake_s']:.2f} s |",
        f"| install (`UV_COMPILE_BYTECODE=1 uv sync --no-dev`) | {timings['install_s']:.1f} s |",
        f"| `alembic upgrade head`, empty database | {timings['migrate_s']:.2f} s |",
        f"| seed ({data['users']:,} users, {data['posts']:,} posts, {data['votes']:,} votes) "
        f"| {timings['seed_s']:.2f} s |",
    ]
    if tests:
        per_test = tests["seconds_per_test"]
        verdict = "met" if per_test <= MAX_SECONDS_PER_TEST else "missed"
        lines += [
            f"| generated suite: `uv run pytest` wall time | {tests['wall_s']:.1f} s |",
            f"| generated suite: tests | {tests['count']} ({tests['outcome']}) |",
            f"| generated suite: s/test (≤{MAX_SECONDS_PER_TEST}) | {per_test:.3f} {verdict} |",
        ]
    missed = [f"`{r.endpoint.name}`: {', '.join(r.missed())}" for r in endpoints if r.missed()]
    if tests and tests["seconds_per_test"] > MAX_SECONDS_PER_TEST:
        missed.append(f"generated suite: {tests['seconds_per_test']:.3f} s/test")
    lines += ["", "Targets missed: " + ("; ".join(missed) if missed else "none")]
    return "\n".join(lines)


def write_json(results: dict[str, Any], directory: Path) -> Path:
    """Write `latest.json` and a dated copy beside it; return the dated file's path."""
    directory.mkdir(parents=True, exist_ok=True)
    text = json.dumps(results, indent=2) + "\n"
    dated = directory / f"{results['started'].replace(':', '')}.json"
    dated.write_text(text)
    (directory / "latest.json").write_text(text)
    return dated
