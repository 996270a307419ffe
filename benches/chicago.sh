#!/usr/bin/env bash
# Chicago early-childhood sites: nine real lists of the same organisations, scored pairwise
# against the data's `True Id` with `reconcile evaluate` (which never opens a database).
# The spec, benches/chicago/chicago.yaml, was written once before any score was looked at.
#
# Usage: benches/chicago.sh [SITES_CSV]   (default /work/shared/data/chicago-childcare/sites.csv)
# Prints precision, recall, F1, wall time and peak memory; keeps the full report under
# target/chicago/.
set -euo pipefail
cd "$(dirname "$0")/.."
SITES=${1:-/work/shared/data/chicago-childcare/sites.csv}
OUT=target/chicago
python3 benches/chicago/split.py "$SITES" "$OUT" 2>/dev/null
cargo build --release --quiet
SPEC=benches/chicago/chicago.yaml
if ! ./target/release/reconcile validate -f "$SPEC" >/dev/null 2>&1; then
  # Until values that fail their field type stop failing the run, read phones as text: the
  # phone comparison reads digits whatever the field type.
  echo "note: the spec as written does not run here (invalid phone values stop it); phone read as text" >&2
  sed 's/phone:   { type: phone, region: US }/phone:   { type: text }/' "$SPEC" > "$OUT/chicago.yaml"
  sed -i "s#\${CHICAGO_SPLIT:-../../target/chicago}#$(pwd)/$OUT#" "$OUT/chicago.yaml"
  SPEC=$OUT/chicago.yaml
fi
/usr/bin/time -f "%e s, %M KB peak" -o "$OUT/time.txt" \
  ./target/release/reconcile evaluate -f "$SPEC" --truth --json > "$OUT/evaluate.json"
./target/release/reconcile evaluate -f "$SPEC" --truth > "$OUT/evaluate.txt"
python3 - "$OUT/evaluate.json" "$OUT/time.txt" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); t = open(sys.argv[2]).read().strip()
m = r["at_threshold"]
print(f"{'tool':<12} {'precision':>9} {'recall':>7} {'F1':>7}  time, memory")
print(f"{'reconcile':<12} {m['precision']:>9.4f} {m['recall']:>7.4f} {m['f1']:>7.4f}  {t}")
print(f"true pairs never compared (blocking): {r['true_pairs_never_compared']}")
PY
