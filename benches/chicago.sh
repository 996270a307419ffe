#!/usr/bin/env bash
# Chicago early-childhood sites: nine real lists of the same organisations, scored pairwise
# against the data's `True Id` with `reconcile evaluate` (which never opens a database), and
# then, with the same pairwise scoring, Splink and the dedupe library (benches/chicago_peers.py).
# Two specs, each written once before any score was looked at: benches/chicago/chicago.yaml
# spells out `match.compare`; benches/chicago/chicago-defaults.yaml has no `match` section, so
# it measures the comparisons derived from the field types and names. The peers' models were
# also written once, before their scores were seen; they are described in chicago_peers.py.
#
# Usage: benches/chicago.sh [SITES_CSV]   (default ../shared/data/chicago-childcare/sites.csv,
# relative to the repository root)
# Environment:
#   RECONCILE_BIN  the reconcile binary to measure (default: build release and use
#                  ./target/release/reconcile)
#   PEERS=0        leave Splink and dedupe out
#   PEERS_VENV     their virtualenv (default target/peers-venv; created, and the versions of
#                  benches/chicago/requirements-peers.txt installed, when needed)
# Prints one table: precision, recall, F1, linked pairs, wall time and peak memory of every
# tool; keeps the reports, clusters and timings under target/chicago/.
set -euo pipefail
cd "$(dirname "$0")/.."
SITES=${1:-$(pwd)/../shared/data/chicago-childcare/sites.csv}
OUT=target/chicago
PEERS=${PEERS:-1}
VENV=${PEERS_VENV:-target/peers-venv}
python3 benches/chicago/split.py "$SITES" "$OUT" 2>/dev/null
if [ -n "${RECONCILE_BIN:-}" ]; then
  BIN=$RECONCILE_BIN
else
  cargo build --release --quiet
  BIN=./target/release/reconcile
fi
for SPEC in benches/chicago/chicago.yaml benches/chicago/chicago-defaults.yaml \
    benches/chicago/chicago-labels.yaml; do
  NAME=$(basename "$SPEC" .yaml)
  /usr/bin/time -f "%e %M" -o "$OUT/$NAME.time.txt" \
    "$BIN" evaluate -f "$SPEC" --truth --json > "$OUT/$NAME.json"
  "$BIN" evaluate -f "$SPEC" --truth > "$OUT/$NAME.txt"
done
rm -f "$OUT/peers.json"
if [ "$PEERS" != 0 ]; then
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
  fi
  if "$VENV/bin/pip" install -q --disable-pip-version-check -r benches/chicago/requirements-peers.txt >&2; then
    "$VENV/bin/python" benches/chicago_peers.py --sites "$SITES" --out "$OUT" > "$OUT/peers.txt" \
      || echo "note: benches/chicago_peers.py failed; see $OUT/peers.txt" >&2
  else
    echo "note: the peers did not install into $VENV: their rows are left out" >&2
  fi
fi
python3 - "$OUT" "$BIN" <<'PY'
import json, os, subprocess, sys
out, binary = sys.argv[1], sys.argv[2]
try:
    v = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
except OSError:
    v = "reconcile"
rows, true_pairs = [], set()
for name in ["chicago", "chicago-defaults", "chicago-labels"]:
    r = json.load(open(f"{out}/{name}.json"))
    e, m = open(f"{out}/{name}.time.txt").read().split()[-2:]
    a = r["at_threshold"]
    true_pairs.add(a["true_pairs"])
    rows.append((f"{v}, {name}", a["precision"], a["recall"], a["f1"],
                 a.get("links", "-"), float(e), int(m) / 1024))
if os.path.exists(f"{out}/peers.json"):
    for p in json.load(open(f"{out}/peers.json")):
        if "error" in p:
            rows.append((p["tool"], None, None, None, "-", p["seconds"], p["peak_mb"]))
        else:
            true_pairs.add(p["true_pairs"])
            rows.append((p["tool"], p["precision"], p["recall"], p["f1"], p["links"],
                         p["seconds"], p["peak_mb"]))
print(f"{'tool':<36} {'precision':>9} {'recall':>7} {'F1':>7} {'links':>7}  time, memory")
for tool, p, r, f, links, s, mb in rows:
    if p is None:
        print(f"{tool:<36} {'failed':>9}")
        continue
    print(f"{tool:<36} {p:>9.4f} {r:>7.4f} {f:>7.4f} {links:>7}  {s:.2f} s, {mb:.0f} MB peak")
if len(true_pairs) == 1:
    print(f"true pairs (same True Id): {true_pairs.pop()} for every tool")
else:
    print(f"PROBLEM: the tools were scored against different numbers of true pairs: {sorted(true_pairs)}")
PY
