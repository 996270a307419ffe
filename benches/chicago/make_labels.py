#!/usr/bin/env python3
"""Writes the labelled pairs the dedupe library trains on in `benches/chicago_peers.py`:
30 pairs of one site and 30 pairs of two sites, picked from the Chicago sites file by a fixed
rule with the data's `True Id`, so that anyone can make the same file again.

The rule, applied once and committed as `benches/chicago/dedupe-labels.csv`:

- Records are read from SITES_CSV with a CSV parser; a record's key is its `Id`.
- Same: every unordered pair of `Id`s sharing a `True Id`, sorted by (smaller `Id`, larger
  `Id`) as numbers; 30 of them drawn with `random.Random(20261201).sample`.
- Distinct, near misses rather than random pairs: unordered pairs with different `True Id`s
  that share a blocking key, either the same phone digits (at least seven) or the same house
  number (the digits that start the address). Sorted the same way; 30 drawn with the same
  generator, after the same pairs.

The file has reconcile's labels layout (`left,right,label`, records written `source:id` with
the source names of `benches/chicago/chicago.yaml`, labels `same`/`distinct`), so
`reconcile evaluate --labels` reads it too; the peers script reads the `Id` after the colon.

Usage: make_labels.py SITES_CSV OUT_CSV
"""
import csv
import itertools
import random
import re
import sys
from collections import defaultdict

SEED = 20261201
SAME, DISTINCT = 30, 30

# The `Source` column's file names, as chicago.yaml names those sources.
SOURCE_NAMES = {
    "CPS_Early_Childhood_Portal_scrape.csv": "cps",
    "DFSS_AgencySiteLies_2012.csv": "dfss",
    "chapin_dfss_providers_2011_070212.csv": "chapin_dfss",
    "ECE Chicago Find a School scrape.csv": "ece",
    "purple_binder_early_childhood.csv": "purple_binder",
    "NAEYC_accreditation.csv": "naeyc",
    "IDHS_child_care_provider_list.csv": "idhs",
    "chapin_ounce_providers_2011_071112.csv": "chapin_ounce",
    "Ounce of Prevention - Site Locations.csv": "ounce",
}


def pairs_within(groups):
    out = set()
    for ids in groups.values():
        for a, b in itertools.combinations(sorted(ids, key=int), 2):
            out.add((a, b))
    return out


def main():
    src, dst = sys.argv[1], sys.argv[2]
    with open(src, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    source = {r["Id"]: SOURCE_NAMES[r["Source"].strip()] for r in rows}
    truth = {r["Id"]: r["True Id"].strip() for r in rows}

    by_truth = defaultdict(list)
    by_key = defaultdict(list)
    for r in rows:
        by_truth[truth[r["Id"]]].append(r["Id"])
        phone = re.sub(r"\D", "", r["Phone"])
        if len(phone) >= 7:
            by_key["phone " + phone].append(r["Id"])
        number = re.match(r"\s*(\d+)", r["Address"])
        if number:
            by_key["number " + number.group(1)].append(r["Id"])

    order = lambda p: (int(p[0]), int(p[1]))  # noqa: E731
    same = sorted(pairs_within(by_truth), key=order)
    near = sorted(
        (p for p in pairs_within(by_key) if truth[p[0]] != truth[p[1]]), key=order
    )
    rng = random.Random(SEED)
    chosen = [(p, "same") for p in rng.sample(same, SAME)]
    chosen += [(p, "distinct") for p in rng.sample(near, DISTINCT)]

    with open(dst, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["left", "right", "label"])
        for (a, b), label in chosen:
            w.writerow([f"{source[a]}:{a}", f"{source[b]}:{b}", label])
    print(
        f"{len(same)} true pairs, {len(near)} distinct pairs sharing a phone or house number; "
        f"wrote {SAME} same and {DISTINCT} distinct to {dst}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
