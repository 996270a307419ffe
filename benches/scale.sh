#!/usr/bin/env bash
# Scale benchmark: generated sources of growing size, planned and applied with reconcile on
# SQLite (and on PostgreSQL and MySQL/MariaDB when their URLs are set), side by side with what
# the alternatives cost on the same data:
#
#   - Splink 5 (DuckDB) for the matching stage, with precision/recall/F1 for both tools;
#   - the per-row upsert loop of a hand-written seeding script, in one transaction and with a
#     commit per statement (a seeding command without an explicit transaction);
#   - the raw floor: the database's own bulk import (sqlite3 .import, COPY, LOAD DATA).
#
# Prints one table; timings are measured, never asserted. Exits non-zero when reconcile fails
# or its results look wrong (row counts, a re-plan that is not empty, an unexpected number of
# updates); those are listed at the end.
#
#   benches/scale.sh                 # 10k and 100k records per source
#   benches/scale.sh 10000 1000000   # any sizes
#
# Environment:
#   BENCH_POSTGRES_URL   PostgreSQL server to use (default: RECONCILE_TEST_POSTGRES_URL); every
#                        run creates its own databases there and drops them at the end
#   BENCH_MYSQL_URL      the same for MySQL/MariaDB (default: RECONCILE_TEST_MYSQL_URL)
#   SPLINK=0             leave Splink out; SPLINK_MAX=N skips it above N records per source
#                        (default 1000000), SPLINK_TIMEOUT=seconds gives up on it (3600),
#                        SPLINK_MEMORY is DuckDB's memory limit (8GB), SPLINK_VENV the
#                        virtualenv (shared with benches/febrl.sh: target/febrl/venv)
#   LOOP_AUTOCOMMIT_MAX  the commit-per-statement loop stops after N records (default 100000)
#   LOOP_AUTOCOMMIT_SECONDS  or after this many seconds (default 15): its rows/s hardly
#                        depends on how far it gets, and one commit per row is slow
#   TOUCH_EVERY          the update step changes one record of source a in every N, among
#                        those whose entity is not in b (default: one in 10, but at most
#                        10,000 records: one in n/10,000 above 100k)
#   BENCH_TSV=FILE       also write the rows as tab-separated values
#   BENCH_BIN_DIR=DIR    use the binaries in DIR (reconcile, generate, upsert_loop), built
#                        before, instead of building this checkout: to measure another commit
#
# Needs: the Rust toolchain, python3 (with venv and network for Splink), sqlite3 for the
# SQLite floor (skipped when missing), psql / mysql clients for those servers.
set -euo pipefail
cd "$(dirname "$0")/.."

sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 100000)
pg_url=${BENCH_POSTGRES_URL:-${RECONCILE_TEST_POSTGRES_URL:-}}
my_url=${BENCH_MYSQL_URL:-${RECONCILE_TEST_MYSQL_URL:-}}
splink_on=${SPLINK:-1}
splink_max=${SPLINK_MAX:-1000000}
splink_timeout=${SPLINK_TIMEOUT:-3600}
splink_memory=${SPLINK_MEMORY:-8GB}
venv=${SPLINK_VENV:-${FEBRL_VENV:-target/febrl/venv}}
autocommit_max=${LOOP_AUTOCOMMIT_MAX:-100000}
autocommit_seconds=${LOOP_AUTOCOMMIT_SECONDS:-15}
# Every database this run creates starts with this, so parallel runs never share one.
tag="rb$$"

if [ -n "${BENCH_BIN_DIR:-}" ]; then
  # Binaries built before (another commit's, to compare): reconcile, generate, upsert_loop.
  bin=$(cd "$BENCH_BIN_DIR" && pwd)/reconcile
  gen=$(dirname "$bin")/generate
  loop=$(dirname "$bin")/upsert_loop
else
  cargo build --release --quiet --bin reconcile --example generate --example upsert_loop
  bin=$PWD/target/release/reconcile
  gen=$PWD/target/release/examples/generate
  loop=$PWD/target/release/examples/upsert_loop
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/reconcile-scale.XXXXXX")
tsv=$work/rows.tsv
: >"$tsv"

databases=() # "kind name" of server databases to drop
problems=()  # wrong results, reported at the end (the exit status is then 1)
notes=()     # peers that could not run

drop_databases() {
  local d kind name
  for d in "${databases[@]+"${databases[@]}"}"; do
    read -r kind name <<<"$d"
    case $kind in
      postgres) pg "$pg_url" -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" >/dev/null || true ;;
      mysql) mysql_cli -e "DROP DATABASE IF EXISTS $name" || true ;;
    esac
  done
  databases=()
}
cleanup() {
  drop_databases
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
  echo "scale.sh: $*" >&2
  exit 1
}

# `measure [--ok CODES] COMMAND...` runs COMMAND with its output in $work/out and $work/err
# and sets `secs` (wall time) and `rss` (peak resident MB). Any exit status but 0 (or one of
# the comma-separated CODES) stops the benchmark, showing the command's error.
measure() {
  local ok=0 status=0
  if [ "$1" = --ok ]; then
    ok=$2
    shift 2
  fi
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$work/out" 2>"$work/err" || status=$?
  last_status=$status
  if [[ ",$ok," != *",$status,"* ]]; then
    local why=""
    [ "$status" != 137 ] || why=" (killed: out of memory?)"
    echo "scale.sh: exit status $status$why from: $*" >&2
    tail -n 20 "$work/err" >&2
    exit 1
  fi
  read -r secs rss < <(tail -n 1 "$work/time" | awk '{ printf "%.2f %.0f\n", $1, $2 / 1024 }')
}

rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else printf "-" }'; }

# row STEP DB RECORDS SECONDS RSS ROWS/S RATIO NOTE
row() {
  printf '%-30s %-10s %9s %9s %7s %9s %8s  %s\n' "$@"
  printf '%s\t' "$@" >>"$tsv"
  echo >>"$tsv"
}

# Count of a saved plan's changes of one kind (create, update, delete, no_op, review).
# The summary comes first, and the file is one line: the first match is the summary's.
plan_count() { grep -m1 -o "\"$2\": *[0-9]*" "$1" | head -n 1 | grep -o '[0-9]*$'; }

# mysql client arguments from the URL.
if [ -n "$my_url" ]; then
  eval "$(python3 - "$my_url" <<'EOF'
import shlex, sys, urllib.parse as u
p = u.urlsplit(sys.argv[1])
for k, v in [("my_host", p.hostname or "127.0.0.1"), ("my_port", str(p.port or 3306)),
             ("my_user", u.unquote(p.username or "root")), ("my_pass", u.unquote(p.password or ""))]:
    print(f"{k}={shlex.quote(v)}")
EOF
)"
fi
mysql_args=(--protocol=TCP -h "${my_host:-}" -P "${my_port:-}" -u "${my_user:-}" -N -B)
mysql_cli() { MYSQL_PWD="$my_pass" mysql "${mysql_args[@]}" "$@"; }
# psql without NOTICEs ("database ... does not exist, skipping").
pg() { PGOPTIONS=--client-min-messages=warning psql -qX -v ON_ERROR_STOP=1 "$@"; }

# The server URL with its database replaced by NAME.
with_database() {
  python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$1" "$2"
}

# `fresh_db KIND LABEL` creates an empty database for one step and sets `db_url` (and
# `db_name` for the servers).
fresh_db() {
  local kind=$1 label=$2
  db_name=${tag}_${n}_${label}
  case $kind in
    sqlite)
      rm -f "$dir/$label.db"
      db_url="sqlite://$dir/$label.db"
      ;;
    postgres)
      databases+=("postgres $db_name")
      pg "$pg_url" -c "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" \
        -c "CREATE DATABASE $db_name" >/dev/null
      db_url=$(with_database "$pg_url" "$db_name")
      ;;
    mysql)
      databases+=("mysql $db_name")
      mysql_cli -e "DROP DATABASE IF EXISTS $db_name; CREATE DATABASE $db_name CHARACTER SET utf8mb4"
      db_url=$(with_database "$my_url" "$db_name")
      ;;
  esac
}

count_rows() { # KIND TABLE: rows in TABLE of the database made last by fresh_db
  case $1 in
    sqlite) sqlite3 "${db_url#sqlite://}" "SELECT count(*) FROM $2" ;;
    postgres) pg "$db_url" -At -c "SELECT count(*) FROM $2" ;;
    mysql) mysql_cli "$db_name" -e "SELECT count(*) FROM $2" ;;
  esac
}

check_rows() { # KIND DB EXPECTED WHAT
  if command -v sqlite3 >/dev/null || [ "$1" != sqlite ]; then
    local got
    got=$(count_rows "$1" businesses)
    [ "$got" = "$3" ] || problems+=("$2, $n records: $4 left $got rows in the table, the plan said $3")
  fi
}

# Pair-level precision, recall and F1 of a saved plan's links against truth.csv. The plan file
# can be gigabytes: it is scanned in blocks for each change's "members" list (its source
# records) instead of being parsed whole.
quality() {
  python3 - "$1" "$dir/truth.csv" <<'EOF'
import csv, re, sys
members = re.compile(r'"members":\s*\[([^\]]*)\]')
member = re.compile(r'"source":\s*"([^"]*)",\s*"id":\s*"([^"]*)"')
pred, tail = set(), ""
with open(sys.argv[1]) as f:
    while True:
        block = f.read(1 << 24)
        text = tail + block
        end = 0
        for m in members.finditer(text):
            refs = member.findall(m.group(1))
            a = [i for s, i in refs if s == "a"]
            b = [i for s, i in refs if s == "b"]
            pred.update((x, y) for x in a for y in b)
            end = m.end()
        if not block:
            break
        # A list cut by the end of the block is read again with the next one.
        tail = text[max(end, len(text) - 65536):]
truth = {tuple(r) for r in csv.reader(open(sys.argv[2])) if r[0] != "a_id"}
if not pred:
    sys.exit("no linked pairs found in the saved plan (has its format changed?)")
tp = len(pred & truth)
p, r = tp / len(pred), tp / len(truth)
print(f"precision {p:.4f} recall {r:.4f} F1 {2 * p * r / (p + r):.4f} ({len(pred)} pairs)")
EOF
}

splink_ready=0
if [ "$splink_on" != 0 ]; then
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" || true
  fi
  if "$venv/bin/python" -c 'import splink' 2>/dev/null \
    || "$venv/bin/pip" install -q --disable-pip-version-check 'splink>=5,<6' >&2; then
    splink_ready=1
  else
    notes+=("Splink did not install into $venv: its rows are left out")
  fi
fi

run_splink() {
  if [ "$splink_ready" != 1 ]; then
    return
  fi
  if [ "$n" -gt "$splink_max" ]; then
    row "splink link (DuckDB)" - "$total" - - - - "not run: above SPLINK_MAX=$splink_max records per source"
    notes+=("Splink not run at $n records per source (SPLINK_MAX=$splink_max)")
    return
  fi
  mkdir -p "$work/duckdb"
  measure --ok 0,1,124,137 timeout -k 10 "$splink_timeout" "$venv/bin/python" benches/splink_generated.py "$dir" \
    --memory-limit "$splink_memory" --temp-dir "$work/duckdb"
  rm -rf "$work/duckdb"
  if [ "$last_status" != 0 ]; then
    local why
    case $last_status in
      124 | 137) why="gave up after SPLINK_TIMEOUT=${splink_timeout}s" ;;
      *) why="failed: $(grep -v '^\s*$' "$work/err" | tail -n 1 | cut -c1-120)" ;;
    esac
    row "splink link (DuckDB)" - "$total" "$secs" "$rss" - - "$why"
    notes+=("Splink at $n records per source: $why")
    return
  fi
  local result
  result=$(grep '^result ' "$work/out")
  row "splink link (DuckDB)" - "$total" "$secs" "$rss" "$(rate "$total" "$secs")" "$(ratio "$secs" "$plan_secs")" \
    "$(awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
              printf "precision %s recall %s F1 %s (%s pairs); train %ss, predict %ss",
                v["precision"], v["recall"], v["f1"], v["pairs"], v["train"], v["predict"] }' <<<"$result")"
}

# All steps on one backend: KIND (sqlite, postgres, mysql) and the name shown.
run_backend() {
  local kind=$1 db=$2
  local plan_file=$dir/creates.plan

  # Plan against an empty table, saved to a file, then the write step alone.
  fresh_db "$kind" plan
  measure "$bin" plan -f "$dir/spec.yaml" --database "$db_url" --out "$plan_file"
  plan_secs=$secs
  local creates reviews note=""
  creates=$(plan_count "$plan_file" create)
  reviews=$(plan_count "$plan_file" review)
  if [ "$kind" = sqlite ]; then
    expected_creates=$creates
    note="$(quality "$plan_file"); $reviews to review"
  elif [ "$creates" != "$expected_creates" ]; then
    problems+=("$db, $n records: the plan creates $creates rows, $expected_creates on SQLite")
  fi
  row "plan (empty table)" "$db" "$total" "$secs" "$rss" "$(rate "$total" "$secs")" "" "$note"
  [ "$kind" != sqlite ] || run_splink

  measure "$bin" apply "$plan_file" --database "$db_url"
  local apply_rate
  apply_rate=$(rate "$creates" "$secs")
  row "apply saved plan (creates)" "$db" "$creates" "$secs" "$rss" "$apply_rate" "" "the write step alone"
  check_rows "$kind" "$db" "$creates" "applying the saved plan"
  rm -f "$plan_file"

  measure --ok 0,2 "$bin" plan -f "$dir/spec.yaml" --database "$db_url" --detailed-exitcode
  [ "$last_status" = 0 ] || problems+=("$db, $n records: the plan after apply is not empty: $(grep -m1 '^Plan:' "$work/out")")
  row "plan (no changes)" "$db" "$total" "$secs" "$rss" "$(rate "$total" "$secs")" "" ""

  # Scattered updates: source a with one record in every TOUCH_EVERY in another city.
  local updates_file=$dir/updates.plan expected updates
  measure "$bin" plan -f "$dir/touched/spec.yaml" --database "$db_url" --out "$updates_file"
  updates=$(plan_count "$updates_file" update)
  expected=$touched
  # Every record moved is an update. The weights are estimated from the data, so moving
  # cities may tip a pair near the threshold either way, which updates a few more (at most
  # 1% is accepted).
  [ "$updates" -ge "$expected" ] && [ "$updates" -le $((expected + expected / 100)) ] \
    || problems+=("$db, $n records: the update plan has $updates updates for $expected records of a changed city (expected that many, plus at most 1%)")
  row "plan (scattered updates)" "$db" "$total" "$secs" "$rss" "$(rate "$total" "$secs")" "" \
    "$touched records of a changed (one in every $touch_every)"
  # A pair tipped below the threshold splits: its b record becomes a golden record of its
  # own, a create.
  local split
  split=$(plan_count "$updates_file" create)
  measure "$bin" apply "$updates_file" --database "$db_url"
  row "apply saved plan (updates)" "$db" "$updates" "$secs" "$rss" "$(rate "$updates" "$secs")" "" \
    "$updates updates in a $creates-row table (and $split creates: links undone)"
  check_rows "$kind" "$db" "$((creates + split))" "applying the updates"
  rm -f "$updates_file"

  # End to end: plan and write in one command, on a fresh database.
  fresh_db "$kind" e2e
  measure "$bin" apply -f "$dir/spec.yaml" --database "$db_url" --auto-approve
  local e2e_rate
  e2e_rate=$(rate "$creates" "$secs")
  row "apply end to end (creates)" "$db" "$creates" "$secs" "$rss" "$e2e_rate" "" "plans again, then writes"
  check_rows "$kind" "$db" "$creates" "apply end to end"

  # The per-row loop: one transaction, then a commit per statement.
  local rows loop_s loop_rate mode
  for mode in transaction autocommit; do
    fresh_db "$kind" "loop_$mode"
    if [ "$mode" = transaction ]; then
      measure "$loop" "$db_url" "$dir/a.csv"
    else
      measure "$loop" --autocommit --limit "$autocommit_max" --max-seconds "$autocommit_seconds" \
        "$db_url" "$dir/a.csv"
    fi
    read -r rows loop_s <"$work/out"
    loop_rate=$(rate "$rows" "$loop_s")
    local first=""
    [ "$rows" = "$n" ] || first=" (the first $rows of $n records)"
    row "per-row loop ($mode)" "$db" "$rows" "$loop_s" "$rss" "$loop_rate" "$(ratio "$apply_rate" "$loop_rate")" \
      "SELECT + INSERT/UPDATE per record of a$first; end to end apply $(ratio "$e2e_rate" "$loop_rate")"
  done

  # The raw floor: the database's bulk import of source a into a bare table.
  fresh_db "$kind" floor
  local columns="id TEXT, name TEXT, email TEXT, phone TEXT, city TEXT" how
  case $kind in
    sqlite)
      command -v sqlite3 >/dev/null || return 0
      how="sqlite3 .import"
      measure sqlite3 "${db_url#sqlite://}" "CREATE TABLE floor ($columns)" ".import --csv --skip 1 $dir/a.csv floor"
      ;;
    postgres)
      how="psql \\copy"
      measure psql "$db_url" -qX -v ON_ERROR_STOP=1 -c "CREATE TABLE floor ($columns)" \
        -c "\\copy floor FROM '$dir/a.csv' WITH (FORMAT csv, HEADER true)"
      ;;
    mysql)
      how="LOAD DATA"
      measure env MYSQL_PWD="$my_pass" mysql "${mysql_args[@]}" --local-infile=1 "$db_name" -e "CREATE TABLE floor ($columns);
        LOAD DATA LOCAL INFILE '$dir/a.csv' INTO TABLE floor CHARACTER SET utf8mb4
        FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\n' IGNORE 1 LINES"
      ;;
  esac
  local loaded floor_rate
  loaded=$(count_rows "$kind" floor)
  [ "$loaded" = "$n" ] || fail "the $how floor loaded $loaded rows of $n"
  floor_rate=$(rate "$n" "$secs")
  row "raw floor ($how)" "$db" "$n" "$secs" - "$floor_rate" "$(ratio "$apply_rate" "$floor_rate")" \
    "no matching, no state, no index"
  drop_databases
}

backends=("sqlite SQLite")
if [ -n "$pg_url" ]; then
  backends+=("postgres PostgreSQL")
fi
if [ -n "$my_url" ]; then
  mysql_name=MySQL
  mysql_cli -e "SELECT version()" | grep -qi mariadb && mysql_name=MariaDB
  backends+=("mysql $mysql_name")
fi

echo "machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB; $(date -u +%Y-%m-%d); $("$bin" --version)"
echo "ratio: reconcile's rows/s over the peer's (above 1: reconcile is faster); for Splink the"
echo "plan of the empty table, for the loops and the floor the saved plan's apply on that database"
echo
row step db records seconds "rss MB" rows/s ratio note
for n in "${sizes[@]}"; do
  dir=$work/$n
  total=$((n * 2))
  touch_every=${TOUCH_EVERY:-$((n / 10000 > 10 ? n / 10000 : 10))}
  # touched/: a copy of the sources with one record of a in every TOUCH_EVERY in another city
  # (records whose entity is not in b, so that no link is undone: see examples/generate.rs).
  "$gen" --records "$n" --seed 7 --out "$dir" --touch-every "$touch_every" 2>"$work/err" \
    || fail "cannot generate the data: $(cat "$work/err")"
  touched=$(cat "$dir/touched/count")

  for b in "${backends[@]}"; do
    read -r kind db <<<"$b"
    run_backend "$kind" "$db"
  done
  rm -rf "$dir"
done

# How each reconcile step grows with the input.
if [ ${#sizes[@]} -gt 1 ]; then
  echo
  echo "growth (seconds at each size; x: time ratio over the size ratio before it)"
  awk -F'\t' 'NR > 1 && $1 !~ /^(per-row|raw floor|splink)/ && $4 != "-" {
      key = $1 " [" $2 "]"
      if (!(key in seen)) { order[++k] = key; seen[key] = 1 }
      line[key] = line[key] (line[key] == "" ? "" : "  ") $3 ": " $4 "s"
      if (key in last) line[key] = line[key] sprintf(" (%.1fx for %.0fx)", $4 / (last[key] > 0 ? last[key] : 1e-9), $3 / lastn[key])
      last[key] = $4; lastn[key] = $3
    }
    END { for (i = 1; i <= k; i++) printf "  %-40s %s\n", order[i], line[order[i]] }' "$tsv"
fi

[ -z "${BENCH_TSV:-}" ] || cp "$tsv" "$BENCH_TSV"
for x in "${notes[@]+"${notes[@]}"}"; do
  echo "note: $x"
done
if [ ${#problems[@]} -gt 0 ]; then
  echo
  for x in "${problems[@]}"; do
    echo "PROBLEM: $x"
  done
  exit 1
fi
