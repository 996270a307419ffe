#!/usr/bin/env bash
# Chicago early-childhood sites: nine real lists of the same organisations, scored pairwise
# against the data's `True Id` with `reconcile evaluate` (which never opens a database).
# Two specs, each written once before any score was looked at: benches/chicago/chicago.yaml
# spells out `match.compare`; benches/chicago/chicago-defaults.yaml has no `match` section, so
# it measures the comparisons derived from the field types and names.
#
# Usage: benches/chicago.sh [SITES_CSV]   (default ../shared/data/chicago-childcare/sites.csv,
# relative to the repository root)
# Prints precision, recall, F1, wall time and peak memory; keeps the full report under
# target/chicago/.
set -euo pipefail
cd "$(dirname "$0")/.."
SITES=${1:-$(pwd)/../shared/data/chicago-childcare/sites.csv}
OUT=target/chicago
python3 benches/chicago/split.py "$SITES" "$OUT" 2>/dev/null
cargo build --release --quiet
for SPEC in benches/chicago/chicago.yaml benches/chicago/chicago-defaults.yaml; do
  NAME=$(basename "$SPEC" .yaml)
  /usr/bin/time -f "%e s, %M KB peak" -o "$OUT/$NAME.time.txt" \
    ./target/release/reconcile evaluate -f "$SPEC" --truth --json > "$OUT/$NAME.json"
  ./target/release/reconcile evaluate -f "$SPEC" --truth > "$OUT/$NAME.txt"
done
python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
print(f"{'spec':<18} {'precision':>9} {'recall':>7} {'F1':>7}  never compared  time, memory")
for name in ["chicago", "chicago-defaults"]:
    r = json.load(open(f"{out}/{name}.json"))
    t = open(f"{out}/{name}.time.txt").read().strip()
    m = r["at_threshold"]
    print(f"{name:<18} {m['precision']:>9.4f} {m['recall']:>7.4f} {m['f1']:>7.4f}  "
          f"{r['true_pairs_never_compared']:>14}  {t}")
PY
