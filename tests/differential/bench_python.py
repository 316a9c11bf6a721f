#!/usr/bin/env python3
"""Values per second of the Python libraries we compare against, beside our criterion figures.

Measures, on one core, Python `phonenumbers` (parse + is_valid + format E.164 + number_type) for
international and national input, `schwifty` IBAN (parse + validate) and `schwifty` BIC (parse +
validate, SWIFT rules), on the very values the criterion bench uses: they are read from
crates/normalize/benches/normalize.rs, so the two stay in step.

Then reads criterion's last results (target/criterion/normalize/<bench>/new/estimates.json and
benchmark.json, written by `cargo bench -p scamtrail-normalize`) and prints a table: kind, our
values/s, Python values/s, ratio. Our values/s = elements per iteration (the bench's
Throughput::Elements, from benchmark.json) / the typical time per iteration (criterion's slope
estimate, else its mean), as criterion's own "thrpt" line computes it.

Usage: bench_python.py [--seconds S] [--target-dir DIR]
Exit status: 0; 2 when the bench file cannot be read or a library is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH_FILE = ROOT / "crates/normalize/benches/normalize.rs"
KINDS = ["iban", "bic", "phone_international", "phone_national"]

try:
    import phonenumbers as pn
    import schwifty
    from schwifty import BIC, IBAN
except ImportError as e:  # pragma: no cover - environment problem
    print(f"bench_python: cannot import {e.name}; run scripts/install-test-deps", file=sys.stderr)
    sys.exit(2)


def bench_inputs() -> dict[str, tuple[list[str], str | None]]:
    """The values (and national-input country) of each criterion bench we compare."""
    src = BENCH_FILE.read_text()
    countries = dict(re.findall(r'let\s+(\w+)\s*=\s*Country::parse\("([A-Z]{2})"\)', src))
    out = {}
    for m in re.finditer(r'group\(\s*c,\s*"(\w+)",\s*(.*?),\s*&\[(.*?)\]\s*,?\s*\);', src, re.S):
        name, hint, values = m.group(1), m.group(2), m.group(3)
        c = re.search(r"country:\s*(\w+)", hint)
        country = countries.get(c.group(1)) if c else None
        out[name] = ([v.encode().decode("unicode_escape") for v in re.findall(r'"((?:[^"\\]|\\.)*)"', values)], country)
    missing = [k for k in KINDS if k not in out or not out[k][0]]
    if missing or (out["phone_national"][1] is None):
        print(f"bench_python: cannot read the values of {missing or ['phone_national country']} from {BENCH_FILE}",
              file=sys.stderr)
        sys.exit(2)
    return out


def phone_op(region: str | None):
    def op(v: str) -> None:
        n = pn.parse(v, region)
        if pn.is_valid_number(n):
            pn.format_number(n, pn.PhoneNumberFormat.E164)
            pn.number_type(n)
    return op


def iban_op(v: str) -> None:
    IBAN(v).compact


def bic_op(v: str) -> None:
    BIC(v, enforce_swift_compliance=True)


def measure(op, values: list[str], seconds: float) -> float:
    """Values per second: the median of five timed rounds of about seconds/5 each."""
    for v in values:  # warm caches, and fail loudly if a value does not parse
        op(v)
    loops, rates = 1, []
    while True:  # calibrate so one round takes about seconds/5
        t = time.perf_counter()
        for _ in range(loops):
            for v in values:
                op(v)
        dt = time.perf_counter() - t
        if dt >= seconds / 50:
            loops = max(1, int(loops * (seconds / 5) / dt))
            break
        loops *= 4
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(loops):
            for v in values:
                op(v)
        rates.append(loops * len(values) / (time.perf_counter() - t))
    return sorted(rates)[2]


def ours(target: Path, kind: str) -> tuple[float, float] | None:
    """Our values/s from criterion's last run, and when it ran; None if it has not run."""
    d = target / "criterion" / "normalize" / kind
    try:
        est = json.loads((d / "new" / "estimates.json").read_text())
        meta = json.loads((d / "new" / "benchmark.json").read_text())
    except (OSError, ValueError):
        return None
    elements = (meta.get("throughput") or {}).get("Elements")
    typical = est.get("slope") or est.get("mean")
    if not elements or not typical:
        return None
    return elements / (typical["point_estimate"] * 1e-9), (d / "new" / "estimates.json").stat().st_mtime


def human(rate: float) -> str:
    return f"{rate:,.0f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=2.0, help="time spent measuring each kind (default 2)")
    ap.add_argument("--target-dir", type=Path,
                    default=Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")),
                    help="cargo's target directory (default $CARGO_TARGET_DIR, then target/)")
    opts = ap.parse_args()
    if not opts.target_dir.is_absolute():
        opts.target_dir = ROOT / opts.target_dir

    if hasattr(os, "sched_setaffinity"):  # one core, as criterion's single-threaded loop
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    inputs = bench_inputs()
    ops = {
        "iban": iban_op,
        "bic": bic_op,
        "phone_international": phone_op(None),
        "phone_national": phone_op(inputs["phone_national"][1]),
    }
    print(f"bench_python: Python {sys.version.split()[0]}, phonenumbers {pn.__version__}, "
          f"schwifty {schwifty.__version__}; values from {BENCH_FILE.relative_to(ROOT)}")
    python = {}
    for kind in KINDS:
        values, country = inputs[kind]
        python[kind] = measure(ops[kind], values, opts.seconds)
        where = f", country {country}" if country else ""
        print(f"  python {kind}: {human(python[kind])} values/s ({len(values)} values{where})")

    rows, missing, when = [], [], []
    for kind in KINDS:
        got = ours(opts.target_dir, kind)
        if got is None:
            missing.append(kind)
            rows.append((kind, "not run", human(python[kind]), "-"))
        else:
            rate, mtime = got
            when.append(mtime)
            rows.append((kind, human(rate), human(python[kind]), f"{rate / python[kind]:.1f}x"))
    header = ("kind", "ours values/s", "Python values/s", "ratio")
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(4)]
    print()
    for i, r in enumerate([header] + rows):
        print("  ".join(c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(r, widths))))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    if when:
        print(f"\nours: criterion estimates in {opts.target_dir / 'criterion' / 'normalize'} "
              f"(last run {datetime.fromtimestamp(min(when)):%Y-%m-%d %H:%M}); ratio = ours / Python")
    if missing:
        print(f"no criterion results for {', '.join(missing)}: run `cargo bench -p scamtrail-normalize` first")
    return 0


if __name__ == "__main__":
    sys.exit(main())
