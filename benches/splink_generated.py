"""Splink (DuckDB backend) on the generated business sources, for benches/scale.sh: links
a.csv to b.csv and scores the predicted pairs against truth.csv. Prints one `result` line of
key=value pairs on stdout; measured, never asserted.

    python benches/splink_generated.py DIR [--threshold 0.5] [--memory-limit 8GB] [--pairs-out F]

The configuration is fixed here and was written from the shape of the data (business name,
email, phone, city), not fitted to the truth file:

- Cleaning, the same standardisation reconcile applies before it compares: names folded to
  lower case without accents, `&` read as "and", punctuation dropped, stop words ("the",
  "and", ...) and legal suffixes ("Pty", "Ltd", ...) removed; emails trimmed and lower-cased;
  phone numbers reduced to digits with a leading 0 read as South Africa's +27 (the spec's
  `region: ZA`). Empty values are NULL.
- Blocking: equal email, or equal phone, or equal cleaned name within one city. Records with
  neither email nor phone and a changed name are out of reach, as in any blocking.
- Comparisons: name by Jaro-Winkler (exact, >= 0.95, >= 0.88) with term-frequency adjustment,
  since brand names ("Spur", "Wimpy") repeat across branches; Splink's email comparison;
  exact phone; exact city.
- Training, unsupervised as Splink recommends: the prior from deterministic rules (equal email
  or equal phone) with an assumed recall of 0.8, u from one million random pairs, then
  expectation maximisation on two blocks (equal email, equal phone) so that every comparison
  gets its m estimated at least once.
- Links: pairs with match probability >= --threshold (0.5: more likely a match than not).
"""

import argparse
import logging
import time
from pathlib import Path

STOP_WORDS = ["the", "and", "of", "a", "an", "die", "de"]
LEGAL_SUFFIXES = [
    "pty", "ltd", "limited", "llc", "inc", "incorporated", "cc", "corp", "corporation",
    "gmbh", "plc", "llp", "sa", "bv", "nv", "ag", "proprietary",
]


def clean_sql(source, table):
    """A table of cleaned records from one generated CSV."""
    dropped = ", ".join(f"'{w}'" for w in STOP_WORDS + LEGAL_SUFFIXES)
    # Tokens after folding: `&`/`+` become "and", apostrophes vanish, anything else that is
    # not a letter or digit splits words.
    folded = (
        "regexp_replace(replace(replace(lower(strip_accents(name)), '&', ' and '), '+', ' and '), "
        "'[''`]', '', 'g')"
    )
    tokens = f"string_split_regex(trim(regexp_replace({folded}, '[^a-z0-9]+', ' ', 'g')), ' ')"
    name = f"array_to_string(list_filter({tokens}, lambda t: t <> '' and t not in ({dropped})), ' ')"
    digits = "regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g')"
    phone = f"case when {digits} like '0%' then '27' || substr({digits}, 2) else {digits} end"
    return f"""
        create table {table} as
        select id,
               nullif({name}, '') as name,
               nullif(lower(trim(coalesce(email, ''))), '') as email,
               nullif({phone}, '') as phone,
               nullif(trim(coalesce(city, '')), '') as city
        from read_csv('{source}', header = true, all_varchar = true)
    """


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir", help="folder with a.csv, b.csv and truth.csv from examples/generate.rs")
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--memory-limit", default="8GB", help="DuckDB's memory_limit")
    ap.add_argument("--temp-dir", help="where DuckDB spills when it runs out of memory")
    ap.add_argument("--pairs-out", help="also write the linked pairs (a_id,b_id) to this CSV file")
    args = ap.parse_args()
    d = Path(args.dir)

    import duckdb
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.WARNING)
    start = time.perf_counter()
    con = duckdb.connect()
    con.execute(f"set memory_limit = '{args.memory_limit}'")
    if args.temp_dir:
        con.execute(f"set temp_directory = '{args.temp_dir}'")
    con.execute(clean_sql(d / "a.csv", "source_a"))
    con.execute(clean_sql(d / "b.csv", "source_b"))
    loaded = time.perf_counter()

    settings = SettingsCreator(
        unique_id_column_name="id",
        link_type="link_only",
        blocking_rules_to_generate_predictions=[
            block_on("email"),
            block_on("phone"),
            block_on("name", "city"),
        ],
        comparisons=[
            cl.JaroWinklerAtThresholds("name", [0.95, 0.88]).configure(term_frequency_adjustments=True),
            cl.EmailComparison("email"),
            cl.ExactMatch("phone"),
            cl.ExactMatch("city"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )
    db_api = DuckDBAPI(con)
    tables = [
        db_api.register("source_a", dataset_display_name="a"),
        db_api.register("source_b", dataset_display_name="b"),
    ]
    linker = Linker(tables, settings, log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("email"), block_on("phone")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("email"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("phone"))
    trained = time.perf_counter()

    pred = linker.inference.predict(threshold_match_probability=args.threshold)
    rows = con.execute(f"select id_l, id_r from {pred.physical_name}").fetchall()
    predicted = time.perf_counter()

    pairs = {(l, r) if l.startswith("A") else (r, l) for l, r in rows}
    if args.pairs_out:
        with open(args.pairs_out, "w") as f:
            f.write("a_id,b_id\n")
            f.writelines(f"{a},{b}\n" for a, b in sorted(pairs))
    truth = set(con.execute(f"select a_id, b_id from read_csv('{d / 'truth.csv'}', header = true, all_varchar = true)").fetchall())
    tp = len(pairs & truth)
    p = tp / len(pairs) if pairs else 0.0
    r = tp / len(truth) if truth else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    print(
        f"result pairs={len(pairs)} precision={p:.4f} recall={r:.4f} f1={f:.4f} "
        f"load={loaded - start:.2f} train={trained - loaded:.2f} predict={predicted - trained:.2f}"
    )


if __name__ == "__main__":
    main()
