"""`make bench`: run every benchmark, print one table and write it as JSON to bench/results.json."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `bench` is a folder of the checkout, not an installed package

from bench.suite import BENCHMARKS, run_all, table  # noqa: E402 - needs the path above


def main(argv: list[str] | None = None) -> int:
    """Run, print, write; exit 1 if a benchmark crashed (a missed target is reported, not fatal)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny samples: checks, not numbers")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results.json")
    parser.add_argument("--only", nargs="*", choices=sorted(BENCHMARKS), help="run just these")
    args = parser.parse_args(argv)
    report = run_all(args.quick, args.only)
    print(table(report))
    for name, error in report["errors"].items():
        print(f"\n{name} failed:\n{error}", file=sys.stderr)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.json} in {report['duration_s']} s")
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
