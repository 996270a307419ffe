"""Fodor's and Zagat's restaurant guides: two real lists of the same restaurants, 533 and
331 rows, with 112 pairs known to be one restaurant. The files come from the public
py-entitymatching source package on PyPI (its datasets/end-to-end/restaurants folder); this
script fetches the package once, and writes each guide with an `entity` column (the Fodor's
id of the restaurant, for the rows the matches file pairs, else the row's own id), which
`reconcile evaluate --truth` reads for scoring and matching never sees.

Usage: python3 benches/restaurants/prepare.py [OUT]   (default target/restaurants)
"""

import csv
import io
import json
import sys
import tarfile
import urllib.request
from pathlib import Path

out = Path(sys.argv[1] if len(sys.argv) > 1 else "target/restaurants")
out.mkdir(parents=True, exist_ok=True)
archive = out / "py-entitymatching.tar.gz"
if not archive.exists():
    meta = json.load(urllib.request.urlopen("https://pypi.org/pypi/py-entitymatching/json"))
    url = next(
        u["url"]
        for u in meta["releases"]["0.4.2"]
        if u["packagetype"] == "sdist"
    )
    archive.write_bytes(urllib.request.urlopen(url).read())

folder = "py-entitymatching-0.4.2/py_entitymatching/datasets/end-to-end/restaurants/"
with tarfile.open(archive) as tar:
    def rows(name):
        text = tar.extractfile(folder + name).read().decode("utf-8", errors="replace")
        return list(csv.DictReader(io.StringIO(text)))

    fodors, zagats, matches = rows("fodors.csv"), rows("zagats.csv"), rows("matches_fodors_zagats.csv")

entity = {("zagats", m["zagats_id"]): f"f{m['fodors_id']}" for m in matches}
for name, guide, prefix in [("fodors", fodors, "f"), ("zagats", zagats, "z")]:
    with open(out / f"{name}.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(guide[0].keys()) + ["entity"])
        w.writeheader()
        for r in guide:
            r["entity"] = entity.get((name, r["id"]), f"{prefix}{r['id']}")
            w.writerow(r)
    print(f"wrote {len(guide)} rows to {out / (name + '.csv')}")
print(f"{len(matches)} pairs are one restaurant")
