#!/usr/bin/env python3
"""Splits the Chicago early-childhood sites file into one CSV per list (`Source` column), so
that each list is its own source of `chicago.yaml`. Every column is kept as it is, `True Id`
included: the spec never maps it; only `reconcile evaluate --truth` reads it.

Usage: split.py SITES_CSV OUT_DIR
"""
import csv
import os
import re
import sys


def slug(name):
    name = re.sub(r"\.csv$", "", name.strip(), flags=re.I)
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def main():
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    with open(src, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        header = reader.fieldnames
    by_source = {}
    for row in rows:
        by_source.setdefault(slug(row["Source"]), []).append(row)
    for name, part in sorted(by_source.items()):
        with open(os.path.join(out, name + ".csv"), "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=header)
            w.writeheader()
            w.writerows(part)
        print(f"{name}: {len(part)}", file=sys.stderr)


if __name__ == "__main__":
    main()
