"""Time the ACLED import on a synthetic export of 100,000 rows against a naive first version.

    python bench/bench_import.py [--rows 100000] [--repeat 3]

The CSV is generated (seeded) in a temporary folder and deleted afterwards; nothing is written to the repo.
The naive version is what a first attempt looks like: ``pandas.read_csv`` then a row-wise ``apply`` that builds
each feature with ``datetime.strptime``, an uncached pycountry lookup and a JSON round trip per row.
"""

from __future__ import annotations

import argparse
import calendar
import csv
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pycountry

from incidents import load_incidents_bytes
from incidents.importers import import_table
from incidents.importers.acled import _CATEGORIES, COLUMNS, GEO_PRECISIONS, TIME_PRECISIONS

SUB_EVENTS = (
    ("Explosions/Remote violence", "Air/drone strike"),
    ("Explosions/Remote violence", "Shelling/artillery/missile attack"),
    ("Explosions/Remote violence", "Remote explosive/landmine/IED"),
    ("Explosions/Remote violence", "Chemical weapon"),
    ("Battles", "Armed clash"),
    ("Violence against civilians", "Attack"),
    ("Protests", "Peaceful protest"),
    ("Riots", "Mob violence"),
    ("Strategic developments", "Looting/property destruction"),
)
# (iso, country, region, longitude, latitude of a point well inside the country: events fall within ±1°)
COUNTRIES = (("760", "Syria", "Middle East", 38.5, 35.0), ("804", "Ukraine", "Europe", 31.0, 49.0),
             ("4", "Afghanistan", "Caspian", 66.0, 33.5), ("887", "Yemen", "Middle East", 47.5, 15.5),
             ("729", "Sudan", "Northern Africa", 30.0, 15.0), ("466", "Mali", "Western Africa", -2.0, 17.0))
SOURCES = ("Synthetic Observatory for Human Rights", "Example News Agency", "Ministry of Defence of Exampleland",
           "Twitter", "Example Daily", "Local Source")


def write_synthetic_acled(path: Path, rows: int, *, seed: int = 20170404) -> None:
    """A CSV in ACLED's column layout with ``rows`` made-up events (about 60 MB for 100,000 rows)."""
    rng = random.Random(seed)
    first = date(2017, 1, 1)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for i in range(rows):
            event_type, sub = rng.choice(SUB_EVENTS)
            iso, country, region, lon, lat = rng.choice(COUNTRIES)
            day = first + timedelta(days=rng.randrange(2500))
            long_form = f"{day.day:02d} {calendar.month_name[day.month]} {day.year}"
            written = day.isoformat() if rng.random() < 0.8 else long_form
            sources = "; ".join(rng.sample(SOURCES, rng.randint(1, 3)))
            location = f"Place {rng.randrange(5000)}"
            writer.writerow([
                f"{country[:3].upper()}{i}", written, day.year, rng.choice("1112223"), "Political violence",
                event_type, sub, f"Synthetic Armed Group {rng.randrange(300)}", "", rng.randint(1, 8),
                "Civilians (Synthetic)" if rng.random() < 0.5 else "", "", rng.randint(0, 8), rng.randint(10, 88),
                "Civilian targeting" if rng.random() < 0.3 else "", iso, region, country,
                f"Province {rng.randrange(30)}", f"District {rng.randrange(200)}", "", location,
                f"{lat + rng.uniform(-1, 1):.4f}", f"{lon + rng.uniform(-1, 1):.4f}", rng.choice("1112223"), sources,
                "Subnational-National",
                f"On {written}, synthetic event {i} near {location}. " + "Made-up details for the benchmark. " *
                rng.randint(1, 6), rng.choice((0, 0, 0, 1, 2, 5, 12)), "" if rng.random() < 0.9 else
                "women targeted: girls; local administrators", 1600000000 + i,
            ])


def naive_import(data_path: Path, name: str) -> dict[str, Any]:
    """A first version: pandas + row-wise apply, strptime, uncached country lookups, JSON round trip per row."""
    frame = pd.read_csv(data_path, dtype=str, keep_default_na=False)
    imported_at = datetime.now(UTC).isoformat()

    def parse_day(text: str) -> date:
        for fmt in ("%Y-%m-%d", "%d %B %Y"):
            try:
                return datetime.strptime(text, fmt).date()
            except ValueError:
                continue
        raise ValueError(text)

    def convert(row: pd.Series) -> dict[str, Any]:
        record = row.to_dict()
        day = parse_day(record["event_date"])
        precision = TIME_PRECISIONS.get(record["time_precision"], "month")
        props: dict[str, Any] = {"id": "acled-" + record["event_id_cnty"],
                                 "title": f"{record['sub_event_type']} in {record['location']}",
                                 "description": record["notes"],
                                 "category": _CATEGORIES.get(record["sub_event_type"].casefold(), "other"),
                                 "start": day.isoformat(), "time_precision": precision}
        if precision == "week":
            monday = day - timedelta(days=day.weekday())
            props["start"], props["end"] = monday.isoformat(), (monday + timedelta(days=6)).isoformat()
        elif precision == "month":
            props["start"] = day.replace(day=1).isoformat()
            props["end"] = day.replace(day=calendar.monthrange(day.year, day.month)[1]).isoformat()
        country = pycountry.countries.get(numeric=record["iso"].zfill(3))
        if country is not None:
            props["country"] = country.alpha_2
        located = GEO_PRECISIONS.get(record["geo_precision"])
        if located:
            props["location_precision"], props["uncertainty_m"] = located
        props["status"] = "claimed"
        props["perpetrator"] = record["actor1"]
        props["casualties"] = {"killed": int(record["fatalities"] or 0)}
        props["sources"] = [{"title": s.strip(), "publisher": s.strip(), "kind": "news"}
                            for s in record["source"].split(";") if s.strip()]
        props["provenance"] = {"format": "acled", "file": name, "imported_at": imported_at, "record": record}
        feature = {"type": "Feature", "id": props["id"], "properties": props,
                   "geometry": {"type": "Point", "coordinates": [float(record["longitude"]),
                                                                 float(record["latitude"])]}}
        result: dict[str, Any] = json.loads(json.dumps(feature))
        return result

    features = frame.apply(convert, axis=1).tolist()
    return {"type": "FeatureCollection", "features": features}


def median_time(run: Any, repeat: int) -> tuple[float, Any]:
    times: list[float] = []
    result = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--check", action="store_true", help="also load the output with load_incidents_bytes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "acled-synthetic.csv"
        write_synthetic_acled(path, args.rows)
        size = path.stat().st_size
        data = path.read_bytes()
        ours, result = median_time(lambda: import_table(data, name=path.name, kind="acled"), args.repeat)
        serialise, payload = median_time(result.to_bytes, args.repeat)
        naive, naive_result = median_time(lambda: naive_import(path, path.name), args.repeat)
        assert len(naive_result["features"]) == result.report.imported == args.rows, result.report.summary()
        print(f"synthetic ACLED export: {args.rows:,} rows, {size / 1e6:.1f} MB; median of {args.repeat} runs")
        print(f"{'approach':<46} {'seconds':>8} {'rows/s':>10}")
        print(f"{'import_table (csv streaming, cached lookups)':<46} {ours:>8.2f} {args.rows / ours:>10,.0f}")
        print(f"{'  + to_bytes (GeoJSON text)':<46} {serialise:>8.2f}")
        print(f"{'naive (pandas apply, strptime, json per row)':<46} {naive:>8.2f} {args.rows / naive:>10,.0f}")
        print(f"speed-up: {naive / ours:.1f}x; {result.report.summary()}")
        if args.check:
            started = time.perf_counter()
            dataset = load_incidents_bytes(payload, name=path.name, nested=False)
            print(f"load_incidents_bytes of the output: {time.perf_counter() - started:.2f} s, {len(dataset):,} "
                  f"incidents, {len(dataset.warnings)} warnings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
