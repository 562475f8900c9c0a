"""Where a server's CPU goes under load: py-spy samples, summarised per package and function.

py-spy (from PyPI, run with `uvx`) samples the server's Python stacks from outside the
process, so the server runs unmodified. Idle samples (the event loop waiting) are left out,
so the shares below are shares of the CPU time the server spent. Time in compiled code
(asyncpg's protocol, uvloop, pydantic-core) counts for the Python function that called it.
"""

import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from processes import BenchError, Server, environment

FRAME = re.compile(r"^(?P<function>.*) \((?P<file>.*):\d+\)$")
APP = "app (generated code)"


@dataclass(frozen=True)
class Profile:
    """Shares of the samples: (name, share) lists, largest first."""

    samples: int
    self_by_package: list[tuple[str, float]]
    self_by_function: list[tuple[str, float]]
    inclusive_by_function: list[tuple[str, float]]  # the function or anything it called

    def as_dict(self) -> dict[str, object]:
        return {
            "samples": self.samples,
            "self_by_package": dict(self.self_by_package),
            "self_by_function": dict(self.self_by_function),
            "inclusive_by_function": dict(self.inclusive_by_function),
        }


def record(server: Server, output: Path, drive: Callable[[], object], seconds: int) -> Profile:
    """Sample `server` with py-spy for `seconds` while `drive()` loads it; summarise."""
    command = ["uvx", "py-spy", "record", "--pid", str(server.process.pid),
               "--duration", str(seconds), "--rate", "200", "--format", "raw",
               "--output", str(output), "--nonblocking"]  # fmt: skip
    spy = subprocess.Popen(
        command, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    drive()
    spy_output, _ = spy.communicate(timeout=120)
    if spy.returncode != 0 or not output.exists():
        raise BenchError(f"py-spy failed (it needs ptrace rights):\n{spy_output[-2000:]}")
    return summarise(output.read_text())


def summarise(raw: str) -> Profile:
    """Shares of py-spy's raw samples ("frame;frame;... count" lines)."""
    self_package: Counter[str] = Counter()
    self_function: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.split("\n"):  # not splitlines(): frames may hold other line breaks
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [label(frame) for frame in stack.split(";")]
        total += count
        self_package[frames[-1][0]] += count
        self_function[frames[-1][1]] += count
        for function in {function for _, function in frames}:
            inclusive[function] += count

    def shares(counter: Counter[str], top: int) -> list[tuple[str, float]]:
        return [(name, round(n / max(total, 1), 4)) for name, n in counter.most_common(top)]

    return Profile(
        total, shares(self_package, 15), shares(self_function, 30), shares(inclusive, 80)
    )


def label(frame: str) -> tuple[str, str]:
    """(package, "path:function") for one py-spy frame.

    py-spy shortens file names to the part below sys.path ("sqlalchemy/orm/session.py"),
    so the first part names the package: the standard library's, an installed one's, or
    the generated project's own `app`.
    """
    match = FRAME.match(frame)
    if match is None:
        return "other", frame
    function, file = match["function"], match["file"]
    top = file.split("/")[0].removesuffix(".py")
    if top == "app":
        package = APP
    elif top in sys.stdlib_module_names:
        package = f"{top} (stdlib)"
    elif file.startswith("<"):
        package = "other"
    else:
        package = top
    return package, f"{file.removesuffix('.py')}:{function}"


def markdown(name: str, profile: Profile) -> str:
    """A short Markdown summary of one profile."""
    packages = ", ".join(f"{package} {share:.0%}" for package, share in profile.self_by_package[:9])
    app_functions = [
        (function, share)
        for function, share in profile.inclusive_by_function
        # ASGI middleware (`__call__`) wraps every request: it says nothing about the app.
        if function.startswith("app/") and not function.endswith(".__call__")
    ]
    lines = [
        f"#### {name}: {profile.samples} samples",
        "",
        f"Self time by package: {packages}.",
        "",
        "Generated code, with everything it calls: "
        + ", ".join(f"`{function}` {share:.0%}" for function, share in app_functions[:6])
        + ".",
        "",
        "Hottest functions (self time):",
        "",
    ]
    lines += [f"- {share:.1%} `{function}`" for function, share in profile.self_by_function[:10]]
    return "\n".join(lines)
