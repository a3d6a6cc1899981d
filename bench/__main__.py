"""`python -m bench`: run the benchmark suites and print one markdown table of the results.

Why one entry point with a suite registry: `make bench` runs everything the same way in CI and
on a laptop, and a new suite is one function `Options -> SuiteResult`
added to `SUITES`. Exit status: 0 when every tool produced the expected findings (targets that
are missed are reported as MISS, not failed: the numbers are the product here), 1 when any run
produced wrong output or could not run, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench import cluster, diff, inputs, render, validate, vault
from bench.generate import MAX_USERS
from bench.measure import DEFAULT_TIMEOUT_SECONDS, Options, SuiteResult, Variant, table

Suite = Callable[[Options], SuiteResult]
#: Suite name -> function. New suites register here.
SUITES: dict[str, Suite] = {
    "validate": validate.run,
    "render": render.run,
    "diff": diff.run,
    "vault": vault.run,
    "cluster": cluster.run,
    "inputs": inputs.run,
}
MAX_REPEAT = 50


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part.replace("_", "")) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of integers: {text}") from exc
    if not sizes or any(not 10 <= size <= MAX_USERS for size in sizes):
        raise argparse.ArgumentTypeError(f"sizes must be between 10 and {MAX_USERS:,}")
    return sizes


def _repeat(text: str) -> int:
    value = int(text)
    if not 1 <= value <= MAX_REPEAT:
        raise argparse.ArgumentTypeError(f"repeat must be between 1 and {MAX_REPEAT}")
    return value


def _variant(text: str) -> Variant:
    try:
        variant = Variant.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    if variant.name == render.THIS:
        raise argparse.ArgumentTypeError(f"{render.THIS!r} names this checkout")
    if not (variant.root / "src" / "tenancy").is_dir():
        raise argparse.ArgumentTypeError(f"{variant.root} has no src/tenancy")
    return variant


def _rows(text: str) -> tuple[str, ...]:
    rows = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = sorted(set(rows) - set(render.ROWS))
    if not rows or unknown:
        raise argparse.ArgumentTypeError(f"rows are among {', '.join(render.ROWS)}")
    return rows


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Benchmark tenancy against reference tools."
    )
    parser.add_argument(
        "--sizes", type=_sizes, default=(1_000, 10_000), help="users per run (default 1000,10000)"
    )
    parser.add_argument(
        "--repeat", type=_repeat, default=5, help="timed runs per tool and size (default 5)"
    )
    parser.add_argument(
        "--only",
        choices=sorted(SUITES),
        action="append",
        help="run only this suite (repeatable; default: all)",
    )
    parser.add_argument("--out", type=Path, help="also write the markdown report to this file")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_SECONDS,
        help=f"seconds before one run is killed (default {DEFAULT_TIMEOUT_SECONDS:g})",
    )
    parser.add_argument("--no-warmup", action="store_true", help="skip the untimed warm-up run")
    parser.add_argument(
        "--keep", action="store_true", help="keep the generated repositories (path is printed)"
    )
    parser.add_argument(
        "--against",
        type=_variant,
        action="append",
        default=[],
        metavar="NAME=PATH[:VAR=VALUE]...",
        help="render suite: also measure the checkout at PATH (e.g. a git worktree of the commit"
        " before a change), with these environment variables, round by round beside this one"
        " (repeatable); each row is shown per checkout, with this one's ratio to it",
    )
    parser.add_argument(
        "--rows",
        type=_rows,
        default=(),
        help="render suite: only these rows, comma-separated (cold always runs; default all, or"
        f" {','.join(render.AB_ROWS)} with --against)",
    )
    return parser


def cpu_probe() -> float:
    """Seconds for a fixed pure-Python loop (5 million additions), best of three.

    Virtual machines change speed under their neighbours' load: on the machine these numbers
    were first taken on, a loop like this one took up to 1.7 times as long at some hours as at
    others, and every CPU-bound row moved with it. Printed so runs can be compared."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        total = 0
        for number in range(5_000_000):
            total += number
        best = min(best, time.perf_counter() - start)
    return best


def _header(options: Options, suites: list[str]) -> str:
    return (
        f"# tenancy benchmark: {', '.join(suites)}\n\n"
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs; "
        f"sizes {', '.join(f'{s:,}' for s in options.sizes)}; "
        f"{options.repeat} timed repeats{' after 1 warm-up' if options.warmup else ''}; "
        + (
            f"A/B: this checkout ({render.REPO_ROOT}) against "
            + ", ".join(f"{v.name} ({v.root})" for v in options.against)
            + ", interleaved round by round; "
            if options.against
            else ""
        )
        + "wall clock, process start included; "
        f"CPU probe (5M-step Python loop, best of 3) {cpu_probe():.3f} s"
    )


def _report(header: str, results: dict[str, SuiteResult], seconds: float) -> str:
    rows = [row for result in results.values() for row in result.rows]
    parts = [header, "", table(rows), ""]
    for name, result in results.items():
        if result.verdicts:
            parts += [f"Targets ({name}):", "", *(f"- {line}" for line in result.verdicts), ""]
        if result.notes:
            parts += [f"Notes ({name}):", "", *(f"- {line}" for line in result.notes), ""]
        if result.failures:
            parts += [
                f"FAILURES ({name}): wrong or missing output, see below",
                "",
                *(f"- {line}" for line in result.failures),
                "",
            ]
    parts.append(f"Benchmark took {seconds:.0f} s.")
    return "\n".join(parts) + "\n"


def _compile_tenancy() -> None:
    """Bytecode for tenancy's modules, as `make install` leaves it (see the Makefile): with
    PYTHONDONTWRITEBYTECODE set, every measured run would otherwise compile changed modules
    from source again (50 ms of each command), which an installed tenancy never does."""
    import compileall

    import tenancy

    compileall.compile_dir(Path(tenancy.__file__).parent, quiet=1)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    names = [variant.name for variant in args.against]
    if len(set(names)) < len(names):
        parser.error(f"--against names must differ: {', '.join(names)}")
    _compile_tenancy()
    suites = args.only or list(SUITES)
    if (args.against or args.rows) and suites != ["render"]:
        parser.error("--against and --rows are options of the render suite: add --only render")
    workdir = Path(tempfile.mkdtemp(prefix="tenancy-bench-"))
    options = Options(
        sizes=args.sizes,
        repeat=args.repeat,
        timeout=args.timeout,
        workdir=workdir,
        warmup=not args.no_warmup,
        against=tuple(args.against),
        rows=args.rows,
    )
    header = _header(options, suites)
    print(header, "", sep="\n", flush=True)
    start = time.perf_counter()
    results: dict[str, SuiteResult] = {}
    try:
        for name in suites:
            print(f"running suite {name} ...", file=sys.stderr, flush=True)
            results[name] = SUITES[name](options)
        # Reported before the scratch folder goes: deleting millions of files takes minutes.
        report = _report(header, results, time.perf_counter() - start)
        print(report.removeprefix(header + "\n\n"), end="", flush=True)
        if args.out is not None:
            args.out.write_text(report, encoding="utf-8")
    finally:
        if args.keep:
            print(f"generated repositories kept in {workdir}", file=sys.stderr)
        else:
            print(f"removing {workdir} ...", file=sys.stderr, flush=True)
            shutil.rmtree(workdir, ignore_errors=True)
    failed = [failure for result in results.values() for failure in result.failures]
    if failed:
        print(f"\nbench FAILED: {len(failed)} run(s) produced wrong output", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
