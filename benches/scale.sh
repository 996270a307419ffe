#!/usr/bin/env bash
# Scale benchmark: generated sources of growing size, planned and applied with reconcile, next
# to the baseline a seeding script would be (a per-row SELECT + INSERT/UPDATE loop) and the raw
# floor (the database's own bulk import). Prints a table; timings are measured, never asserted.
#
#   benches/scale.sh                 # 10k and 100k records per source
#   benches/scale.sh 10000 1000000   # any sizes
#
# Needs: the Rust toolchain, python3, sqlite3 (for the raw floor row; skipped when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 100000)

cargo build --release --quiet --bin reconcile --example generate --example upsert_loop
bin=$PWD/target/release/reconcile
gen=$PWD/target/release/examples/generate
loop=$PWD/target/release/examples/upsert_loop
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Runs a command, printing "seconds peak_rss_mb".
measure() {
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$work/out" 2>"$work/err" || {
    cat "$work/err" >&2
    return 1
  }
  awk '{ printf "%.2f %.0f\n", $1, $2 / 1024 }' "$work/time"
}

row() { printf '%-28s %10s %9s %9s %12s  %s\n' "$@"; }

echo "machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB; $(date -u +%Y-%m-%d)"
row step records seconds "rss MB" rows/s note
for n in "${sizes[@]}"; do
  dir=$work/$n
  "$gen" --records "$n" --seed 7 --out "$dir" 2>/dev/null
  total=$(( n * 2 ))

  read -r s m < <(measure "$bin" plan -f "$dir/spec.yaml" --json)
  cp "$work/out" "$dir/plan.json"
  quality=$(python3 - "$dir" <<'EOF'
import csv, json, sys
d = sys.argv[1]
plan = json.load(open(f"{d}/plan.json"))
pred = set()
for c in plan["changes"]:
    a = [s[2:] for s in c["sources"] if s.startswith("a:")]
    b = [s[2:] for s in c["sources"] if s.startswith("b:")]
    pred.update((x, y) for x in a for y in b)
truth = {tuple(r) for r in csv.reader(open(f"{d}/truth.csv")) if r[0] != "a_id"}
tp = len(pred & truth)
p, r = tp / max(1, len(pred)), tp / max(1, len(truth))
print(f"precision {p:.4f} recall {r:.4f} F1 {2 * p * r / max(1e-9, p + r):.4f}")
EOF
)
  row "plan (empty table)" "$total" "$s" "$m" "$(awk -v n=$total -v s=$s 'BEGIN{printf "%.0f", n/s}')" "$quality"

  creates=$(python3 -c "import json;print(json.load(open('$dir/plan.json'))['summary']['create'])")
  read -r s m < <(measure "$bin" apply -f "$dir/spec.yaml" --auto-approve)
  apply_rate=$(awk -v n=$creates -v s=$s 'BEGIN{printf "%.0f", n/s}')
  row "apply (creates)" "$creates" "$s" "$m" "$(awk -v n=$creates -v s=$s 'BEGIN{printf "%.0f", n/s}')" "SQLite"

  read -r s m < <(measure "$bin" plan -f "$dir/spec.yaml" --detailed-exitcode)
  row "plan (no changes)" "$total" "$s" "$m" "$(awk -v n=$total -v s=$s 'BEGIN{printf "%.0f", n/s}')" ""

  read -r s m < <(measure "$loop" "sqlite://$dir/loop.db" "$dir/a.csv")
  loop_s=$(cut -d' ' -f2 "$work/out")
  loop_rate=$(awk -v n=$n -v s=$loop_s 'BEGIN{printf "%.0f", n/s}')
  row "per-row upsert loop" "$n" "$loop_s" "$m" "$loop_rate" \
    "one SELECT + INSERT/UPDATE per record; apply is $(awk -v a=$apply_rate -v l=$loop_rate 'BEGIN{printf "%.2f", a/l}')x its rows/s"

  if command -v sqlite3 >/dev/null; then
    start=$(date +%s.%N)
    sqlite3 "$dir/floor.db" ".import --csv $dir/a.csv floor"
    end=$(date +%s.%N)
    s=$(awk -v a=$start -v b=$end 'BEGIN{printf "%.2f", b-a}')
    floor_rate=$(awk -v n=$n -v s=$s 'BEGIN{printf "%.0f", n/s}')
    row "raw floor (sqlite3 .import)" "$n" "$s" "-" "$floor_rate" \
      "no matching, no state; apply reaches $(awk -v a=$apply_rate -v f=$floor_rate 'BEGIN{printf "%.1f", 100*a/f}')% of its rows/s"
  fi
done
