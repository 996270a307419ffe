"""Splink and the dedupe library on the Chicago early-childhood sites, scored the way
`reconcile evaluate --truth` scores reconcile. Run by benches/chicago.sh (after reconcile);
prints a table and writes the rows as JSON; measured, never asserted.

    python benches/chicago_peers.py --sites SITES_CSV --labels LABELS_CSV --out DIR

Each tool runs in a process of its own (this file again, `run-splink` / `run-dedupe`) under
`/usr/bin/time`, which gives the wall time and the peak resident memory of the whole run:
interpreter start, imports, loading, training, scoring pairs, clustering, writing one
`id,cluster` line per record. The parent then scores that file. Both tools read `Id`, `Site
name`, `Address`, `Zip` and `Phone` of the 3,337 records in SITES_CSV, the same records and
ids the per-list files of `benches/chicago/split.py` hold; `True Id` is read only by the
scorer (and, for dedupe's labelled pairs, by `benches/chicago/make_labels.py`).

Scoring, as `src/evaluate.rs` counts it: every record is in one cluster (a record alone is a
cluster of one); links are the unordered pairs of records in one cluster, right links those
whose records share a `True Id`, true pairs those sharing a `True Id`; records without a true
id are left out. Precision = right / links (1 with no link), recall = right / true pairs.

The models were written once, from the data's README and the look of its values, before
any of their scores was seen; nothing here is tuned on `True Id`.

Splink (DuckDB backend), one table deduplicated (`dedupe_only`: duplicates within one list
and across lists alike):

- Cleaning: name folded to lower-case ASCII, `&` as "and", apostrophes dropped, any other
  non-alphanumeric run a space, plus its tokens without "the", "of", "and", "a", "an",
  "inc"; address folded the same way with street words and directions abbreviated ("street"
  -> "st", "avenue" -> "ave", "east" -> "e", ...), and its house number (the leading
  digits); zip as its first five digits; phone as its last seven digits (most values are
  local seven-digit numbers without an area code). Empty values are NULL.
- Comparisons: name (exact with term-frequency adjustment, Jaro-Winkler >= 0.92, at least
  two tokens in common, Jaro-Winkler >= 0.8, else); address (exact with term-frequency
  adjustment, Jaro-Winkler >= 0.9, same house number, else); zip exact; phone exact with
  term-frequency adjustment (one agency's number is shared by its sites).
- Blocking for predictions: equal phone, or equal house number, or equal cleaned name.
- Training as Splink's documentation lays it out: the prior from two deterministic rules
  (phone and house number equal; name and house number equal) with an assumed recall of
  0.7; u from up to 10 million random pairs (seed 1; the file has 5.6 million, and Splink warns that its default of one million may be too few); m by expectation maximisation on two blocks, equal phone
  (estimates name, address, zip) and equal name (estimates address, zip, phone).
- Clusters: connected components of the pairs at match probability >= 0.5, and >= 0.9.

dedupe 3: the fields of the library's own csv example, which is this very file: `String` on
site name and address, `Exact` on zip, `String` on phone, all allowing missing values; values
folded to lower-case ASCII with runs of white space (line breaks included) made one space,
phone to its digits. Trained with `prepare_training(training_file=...)` on the 60 pairs of
LABELS_CSV (see make_labels.py), no active learning; `train()` with its defaults; clusters
from `partition(threshold=0.5)`, its default. `random` and NumPy are seeded.
"""

import argparse
import csv
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from pathlib import Path

MATCH_FIELDS = {"id": "Id", "name": "Site name", "address": "Address", "zip": "Zip", "phone": "Phone"}


def read_sites(path, truth=False):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    fields = dict(MATCH_FIELDS, **({"truth": "True Id"} if truth else {}))
    return [{k: r[v] for k, v in fields.items()} for r in rows]


# ---------------------------------------------------------------------------------------
# Scoring: a port of `evaluate::counts` with true ids.


def pairs_of(n):
    return n * (n - 1) // 2


def score(cluster_of, truth_of):
    """cluster_of, truth_of: id -> cluster, id -> true id (empty: unknown)."""
    per_cluster, per_truth, per_both = Counter(), Counter(), Counter()
    for rid, t in truth_of.items():
        t = t.strip()
        if not t:
            continue
        c = cluster_of[rid]
        per_cluster[c] += 1
        per_truth[t] += 1
        per_both[(c, t)] += 1
    links = sum(pairs_of(n) for n in per_cluster.values())
    right = sum(pairs_of(n) for n in per_both.values())
    true_pairs = sum(pairs_of(n) for n in per_truth.values())
    p = right / links if links else 1.0
    r = right / true_pairs if true_pairs else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"links": links, "right": right, "true_pairs": true_pairs,
            "precision": p, "recall": r, "f1": f}


def check_scorer():
    """The hand-worked case of `src/evaluate.rs`'s tests, so that the port cannot drift."""
    truth = dict(zip("012345", "aaabbc"))
    c = score(dict(zip("012345", [0, 0, 1, 1, 2, 3])), truth)
    assert (c["links"], c["right"], c["true_pairs"]) == (2, 1, 4), c
    assert abs(c["f1"] - 1 / 3) < 1e-12, c


def write_clusters(path, pairs):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "cluster"])
        w.writerows(pairs)


def read_clusters(path):
    with open(path, newline="") as f:
        return {r["id"]: r["cluster"] for r in csv.DictReader(f)}


# ---------------------------------------------------------------------------------------
# Splink


def splink_clean_sql():
    def fold(col):
        return (
            f"lower(strip_accents(regexp_replace(coalesce({col}, ''), '\\s+', ' ', 'g')))"
        )

    name = (
        f"trim(regexp_replace(regexp_replace(replace({fold('name')}, '&', ' and '), "
        "'[''`’]', '', 'g'), '[^a-z0-9]+', ' ', 'g'))"
    )
    stop = "'the', 'of', 'and', 'a', 'an', 'inc', ''"
    abbrev = {
        "street": "st", "avenue": "ave", "av": "ave", "boulevard": "blvd", "road": "rd",
        "place": "pl", "drive": "dr", "parkway": "pkwy", "court": "ct", "lane": "ln",
        "east": "e", "west": "w", "north": "n", "south": "s",
    }
    cases = " ".join(f"when '{k}' then '{v}'" for k, v in abbrev.items())
    addr_tokens = (
        f"string_split(trim(regexp_replace({fold('address')}, '[^a-z0-9]+', ' ', 'g')), ' ')"
    )
    address = f"array_to_string(list_transform({addr_tokens}, lambda t: case t {cases} else t end), ' ')"
    digits = "regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g')"
    return f"""
        create table sites as
        with folded as (
            select id, {name} as name, {address} as address,
                   regexp_extract(coalesce(zip, ''), '([0-9]{{5}})', 1) as zip,
                   {digits} as phone
            from raw
        )
        select id,
               nullif(name, '') as name,
               list_filter(string_split(name, ' '), lambda t: t not in ({stop})) as name_tokens,
               nullif(address, '') as address,
               nullif(regexp_extract(address, '^([0-9]+)', 1), '') as house_number,
               nullif(zip, '') as zip,
               case when length(phone) >= 7 then right(phone, 7) end as phone
        from folded
    """


def run_splink(args):
    import logging

    import duckdb
    import pyarrow as pa
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.WARNING)
    rows = read_sites(args.sites)
    con = duckdb.connect()
    con.register("raw", pa.Table.from_pylist(rows))
    con.execute(splink_clean_sql())

    name = cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.NullLevel("name"),
            cll.ExactMatchLevel("name", term_frequency_adjustments=True),
            cll.JaroWinklerLevel("name", 0.92),
            cll.ArrayIntersectLevel("name_tokens", min_intersection=2),
            cll.JaroWinklerLevel("name", 0.8),
            cll.ElseLevel(),
        ],
    )
    address = cl.CustomComparison(
        output_column_name="address",
        comparison_levels=[
            cll.NullLevel("address"),
            cll.ExactMatchLevel("address", term_frequency_adjustments=True),
            cll.JaroWinklerLevel("address", 0.9),
            cll.ExactMatchLevel("house_number"),
            cll.ElseLevel(),
        ],
    )
    settings = SettingsCreator(
        unique_id_column_name="id",
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[
            block_on("phone"),
            block_on("house_number"),
            block_on("name"),
        ],
        comparisons=[
            name,
            address,
            cl.ExactMatch("zip"),
            cl.ExactMatch("phone").configure(term_frequency_adjustments=True),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )
    db_api = DuckDBAPI(con)
    linker = Linker(db_api.register("sites"), settings, log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("phone", "house_number"), block_on("name", "house_number")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e7, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("phone"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("name"))

    pred = linker.inference.predict(threshold_match_probability=args.threshold)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        pred, threshold_match_probability=args.threshold
    )
    out = con.execute(f"select id, cluster_id from {clusters.physical_name}").fetchall()
    write_clusters(args.clusters, out)


# ---------------------------------------------------------------------------------------
# dedupe


def dedupe_clean(value, digits=False):
    value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    value = re.sub(r"\s+", " ", value).strip().strip("'\"").strip().lower()
    if digits:
        value = re.sub(r"\D", "", value)
    return value or None


def run_dedupe(args):
    import numpy

    import dedupe

    random.seed(1)
    numpy.random.seed(1)
    rows = read_sites(args.sites)
    data = {
        r["id"]: {
            "name": dedupe_clean(r["name"]),
            "address": dedupe_clean(r["address"]),
            "zip": dedupe_clean(r["zip"]),
            "phone": dedupe_clean(r["phone"], digits=True),
        }
        for r in rows
    }
    with open(args.labels, newline="", encoding="utf-8") as f:
        labels = list(csv.DictReader(f))
    training = {"match": [], "distinct": []}
    for lab in labels:
        a, b = (lab[k].split(":", 1)[1] for k in ("left", "right"))
        key = {"same": "match", "distinct": "distinct"}[lab["label"]]
        training[key].append([data[a], data[b]])
    fields = [
        dedupe.variables.String("name", has_missing=True),
        dedupe.variables.String("address", has_missing=True),
        dedupe.variables.Exact("zip", has_missing=True),
        dedupe.variables.String("phone", has_missing=True),
    ]
    deduper = dedupe.Dedupe(fields)
    with tempfile.TemporaryFile("w+") as f:
        json.dump(training, f)
        f.seek(0)
        deduper.prepare_training(data, training_file=f)
    deduper.train()
    clustered = deduper.partition(data, threshold=args.threshold)
    out, seen = [], set()
    for n, (ids, _scores) in enumerate(clustered):
        for rid in ids:
            out.append((rid, n))
            seen.add(rid)
    n = len(clustered)
    for rid in data:
        if rid not in seen:
            out.append((rid, n))
            n += 1
    write_clusters(args.clusters, out)


# ---------------------------------------------------------------------------------------
# The runs and the table

JOBS = [
    ("splink", 0.5, "Splink {v}, p >= 0.5"),
    ("splink", 0.9, "Splink {v}, p >= 0.9"),
    ("dedupe", 0.5, "dedupe {v}, 60 labels, 0.5"),
]


def version(dist):
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as v

    try:
        return v(dist)
    except PackageNotFoundError:
        return "?"


def measure(cmd, time_file):
    """Runs cmd under /usr/bin/time; returns (ok, seconds, peak MB, stderr tail)."""
    timed = ["/usr/bin/time", "-f", "%e %M", "-o", str(time_file)] + cmd
    p = subprocess.run(timed, capture_output=True, text=True)
    seconds = peak = None
    try:
        e, m = Path(time_file).read_text().split()[-2:]
        seconds, peak = float(e), int(m) / 1024
    except (OSError, ValueError):
        pass
    tail = "\n".join(p.stderr.strip().splitlines()[-5:])
    return p.returncode == 0, seconds, peak, tail


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd")
    for name in ("run-splink", "run-dedupe"):
        s = sub.add_parser(name)
        s.add_argument("--sites", required=True)
        s.add_argument("--labels")
        s.add_argument("--threshold", type=float, required=True)
        s.add_argument("--clusters", required=True)
    ap.add_argument("--sites", help="the Chicago sites CSV")
    ap.add_argument("--labels", default=str(Path(__file__).parent / "chicago" / "dedupe-labels.csv"))
    ap.add_argument("--out", default="target/chicago", help="where clusters and results go")
    ap.add_argument("--tools", default="splink,dedupe")
    args = ap.parse_args()
    if args.cmd == "run-splink":
        return run_splink(args)
    if args.cmd == "run-dedupe":
        return run_dedupe(args)

    check_scorer()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    truth_of = {r["id"]: r["truth"] for r in read_sites(args.sites, truth=True)}
    versions = {"splink": version("splink"), "dedupe": version("dedupe")}
    wanted = set(args.tools.split(","))
    results = []
    for tool, threshold, label in JOBS:
        if tool not in wanted:
            continue
        stem = f"peer-{tool}-{threshold}"
        clusters = out / f"{stem}.clusters.csv"
        cmd = [sys.executable, __file__, f"run-{tool}", "--sites", args.sites,
               "--threshold", str(threshold), "--clusters", str(clusters)]
        if tool == "dedupe":
            cmd += ["--labels", args.labels]
        if clusters.exists():
            clusters.unlink()
        ok, seconds, peak, tail = measure(cmd, out / f"{stem}.time.txt")
        row = {"tool": label.format(v=versions[tool]), "seconds": seconds, "peak_mb": peak,
               "command": " ".join(cmd[1:])}
        if ok:
            row.update(score(read_clusters(clusters), truth_of))
        else:
            row["error"] = tail or "failed"
            print(f"note: {row['tool']} failed: {tail}", file=sys.stderr)
        results.append(row)
    (out / "peers.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"{'tool':<30} {'precision':>9} {'recall':>7} {'F1':>7} {'links':>7}  time, memory")
    for r in results:
        if "error" in r:
            print(f"{r['tool']:<30} {'failed':>9}")
            continue
        print(f"{r['tool']:<30} {r['precision']:>9.4f} {r['recall']:>7.4f} {r['f1']:>7.4f} "
              f"{r['links']:>7}  {r['seconds']:.2f} s, {r['peak_mb']:.0f} MB peak")


if __name__ == "__main__":
    sys.exit(main())
