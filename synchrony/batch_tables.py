"""A batch's study tables, gathered from its sessions' folders, and their files (part of :mod:`synchrony.batch`).

:func:`study_tables` reads each analysed session's ``summary.json`` and ``mismatch.csv``;
:func:`pseudo_dyad_tables` reads their ``signals.csv`` to pair partners across sessions;
:func:`write_study` writes the tables (:data:`STUDY_TABLES`, CSV and Parquet) with
``index.html``, ``batch.json`` and, for BIDS-labelled studies, ``dataset_description.json``.
Every row carries its session's manifest attributes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path

import pandas as pd

from synchrony import __version__
from synchrony.batch_provenance import DONE, STATUSES, package_versions, utc_now
from synchrony.formats import json_ready
from synchrony.manifest import SessionSpec

__all__ = ["STUDY_TABLES", "study_tables", "pseudo_dyad_tables", "write_study"]

log = logging.getLogger("synchrony")

#: Study tables written to the output folder (``.csv`` and ``.parquet`` each).
STUDY_TABLES = ("sessions", "synchrony", "mismatch", "episodes", "pseudo_dyads", "pseudo_dyads_by_session")

# Headline numbers first in synchrony.csv; the rest (agg_*, lf_*) follow.
_PAIR_ORDER = ("n_windows", "n_windows_defined", "mean_peak_r", "mean_r_lag0", "median_peak_lag_s", "leader",
               "chance_peak_r", "chance_share", "n_mismatch_spans", "mismatch_share", "n_ruptures",
               "share_repaired", "median_repair_time_s", "surrogate_method", "observed", "surrogate_mean",
               "surrogate_sd", "cohens_d", "p_value", "n_surrogates", "q_value")
_MAX_PSEUDO_PAIRS = 2000


def study_tables(specs, records, out: Path) -> dict:
    """The ``sessions``, ``synchrony``, ``mismatch`` and ``episodes`` tables, in manifest order."""
    from synchrony.analysis.mismatch import MISMATCH_COLUMNS

    bids = _bids(specs)
    sessions, pairs, spans, episodes = [], [], [], []
    for spec in specs:
        rec = records.get(spec.session_id) or {"status": "crashed", "reason": "no record"}
        share = rec.get("face_share") or [None, None]
        sessions.append({
            **_session_columns(spec, bids), "layout": spec.layout, "status": rec.get("status"),
            "reason": rec.get("reason"), "warnings": "; ".join(rec.get("warnings") or []),
            "person_a": spec.persons[0], "person_b": spec.persons[1], "duration_s": rec.get("duration_s"),
            "audio": rec.get("audio"), "face_share_a": share[0], "face_share_b": share[1],
            "n_pairs": len(rec.get("pairs") or []), "run_s": rec.get("run_s"), "cpu_s": rec.get("cpu_s"),
            "finished_utc": rec.get("finished_utc"), "folder": spec.folder,
        })
    for spec, folder, summary in _analysed(specs, records, out):
        who = {**_session_columns(spec, bids), "person_a": spec.persons[0], "person_b": spec.persons[1]}
        for pair, numbers in summary["pairs"].items():
            feature_a, feature_b = pair.split("~")
            pairs.append({**who, "pair": pair, "feature_a": feature_a, "feature_b": feature_b,
                          "surrogate_method": summary["config"]["surrogate_method"], **flat(numbers)})
        table = pd.read_csv(folder / "mismatch.csv")
        if len(table):
            spans.append(_prepend(table, who))
        for pair, rows in ((summary.get("episodes") or {}).get("pairs") or {}).items():
            episodes += [{**who, "pair": pair, **row} for row in rows]

    front = [*_session_columns(specs[0], bids), "person_a", "person_b"]
    first = [*front, "pair", "feature_a", "feature_b", *_PAIR_ORDER]
    synchrony = _frame(pairs) if pairs else pd.DataFrame(columns=first)
    synchrony = synchrony[[c for c in first if c in synchrony.columns]
                          + [c for c in synchrony.columns if c not in first]]
    mismatch = pd.concat(spans, ignore_index=True) if spans else pd.DataFrame(columns=[*front, *MISMATCH_COLUMNS])
    return {"sessions": _frame(sessions), "synchrony": synchrony, "mismatch": mismatch,
            "episodes": _frame(episodes)}


def pseudo_dyad_tables(specs, records, out: Path, n_pairs):
    """Per feature pair (and clock rate), the batch's real dyads against pseudo-dyads;
    and per session and pair, its statistic against all pseudo-dyads of that pair."""
    from synchrony.analysis.stats import pseudo_dyad_test

    bids = _bids(specs)
    groups = {}
    for spec, folder, summary in _analysed(specs, records, out):
        cfg = summary["config"]
        person_a, person_b = cfg["persons"]
        wanted = {pair: (f"{person_a}.{pair.split('~')[0]}", f"{person_b}.{pair.split('~')[1]}")
                  for pair in summary["pairs"]}
        if not wanted:
            continue
        columns = sorted({c for pair in wanted.values() for c in pair})
        signals = pd.read_csv(folder / "signals.csv", usecols=columns)
        # The exact rate the sessions were analysed at: a rate read from a file's times
        # may be 25.0000000000005 Hz, and window steps in samples follow it.
        settings = (float(cfg["rate_hz"]), cfg["window_s"], cfg["step_s"], cfg["max_lag_s"], cfg["seed"])
        for pair, (col_a, col_b) in wanted.items():
            groups.setdefault((pair, settings), []).append(
                (spec, signals[col_a].to_numpy(dtype=float), signals[col_b].to_numpy(dtype=float)))
    group_rows, session_rows = [], []
    for (pair, (rate_hz, window_s, step_s, max_lag_s, seed)), members in groups.items():
        if len(members) < 3:
            log.info("pseudo-dyads of %s skipped: %d session(s), 3 or more needed", pair, len(members))
            continue
        k = len(members)
        n = n_pairs if n_pairs is not None else (None if k * (k - 1) <= _MAX_PSEUDO_PAIRS else _MAX_PSEUDO_PAIRS)
        test = pseudo_dyad_test([(a, b) for _, a, b in members], rate_hz, window_s=window_s, step_s=step_s,
                                max_lag_s=max_lag_s, n_pairs=n, seed=seed)
        group_rows.append({"pair": pair, "rate_hz": round(rate_hz, 9), "n_sessions": k, **test["group"]})
        for (spec, _, _), row in zip(members, test["dyads"].to_dict(orient="records")):
            row.pop("dyad", None)
            session_rows.append({**_session_columns(spec, bids), "pair": pair, **row})
    return _frame(group_rows), _frame(session_rows)


def write_study(out: Path, tables: dict, specs, config, started, records):
    """Write the study tables (CSV and Parquet), ``index.html``, ``batch.json`` and, with
    BIDS labels, ``dataset_description.json`` into ``out``, each file atomically."""
    from synchrony.formats import write_csv, write_json, write_parquet
    from synchrony.report.html import study_index_rows, write_index

    for name in STUDY_TABLES:
        table = tables[name]
        if name in ("episodes", "pseudo_dyads", "pseudo_dyads_by_session") and table.empty:
            for suffix in (".csv", ".parquet"):  # not made this time: no stale copy either
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(out / f"{name}{suffix}")
            continue
        write_csv(table, out / f"{name}.csv")
        write_parquet(table, out / f"{name}.parquet")
    write_index(study_index_rows(tables["sessions"], tables["synchrony"]), out / "index.html",
                title="Synchrony study")
    counts = {s: int(sum(r.get("status") == s for r in records.values())) for s in STATUSES}
    write_json(json_ready({"synchrony_version": __version__, "config": config.to_dict(),
                           "n_sessions": len(specs), "counts": counts, "started_utc": started,
                           "finished_utc": utc_now(), "packages": package_versions(),
                           "lag_sign_convention": "positive lag = B follows A (A leads)"}),
               out / "batch.json")
    if _bids(specs):
        write_json({"Name": "synchrony derivatives", "BIDSVersion": "1.9.0", "DatasetType": "derivative",
                    "GeneratedBy": [{"Name": "synchrony", "Version": __version__}]},
                   out / "dataset_description.json")


def flat(numbers: dict) -> dict:
    """A pair's summary as one row: nested tests and aggregates flattened, intervals as lo/hi.

    >>> flat({"mean_peak_r": 0.4, "test": {"p_value": 0.05}, "leader_follower": {"lead_difference_ci": [-0.1, 0.3]}})
    {'mean_peak_r': 0.4, 'p_value': 0.05, 'lf_lead_difference_ci_lo': -0.1, 'lf_lead_difference_ci_hi': 0.3}
    """
    prefixes = {"test": "", "aggregates_fisher_z": "agg_", "leader_follower": "lf_"}
    row = {}

    def put(name, value):
        if isinstance(value, list) and len(value) == 2 and not any(isinstance(v, (list, dict)) for v in value):
            row[f"{name}_lo"], row[f"{name}_hi"] = value
        elif not isinstance(value, (list, dict)):
            row[name] = value

    for key, value in numbers.items():
        if isinstance(value, dict):
            for sub, item in value.items():
                put(prefixes.get(key, f"{key}_") + sub, item)
        else:
            put(key, value)
    return row


def _analysed(specs, records, out: Path):
    """(spec, folder, summary) of each session done or skipped, in manifest order."""
    for spec in specs:
        if (records.get(spec.session_id) or {}).get("status") in DONE:
            folder = out / spec.folder
            yield spec, folder, json.loads((folder / "summary.json").read_text(encoding="utf-8"))


def _bids(specs) -> bool:
    """Whether the study has BIDS labels (its tables then carry ``subject`` and ``session``)."""
    return any(s.subject is not None for s in specs)


def _session_columns(spec: SessionSpec, bids: bool) -> dict:
    row = {"session_id": spec.session_id}
    if bids:
        row.update(subject=spec.subject, session=spec.session)
    row.update(spec.attributes)
    return row


def _prepend(table: pd.DataFrame, cols: dict) -> pd.DataFrame:
    front = pd.DataFrame({k: [v] * len(table) for k, v in cols.items()}, index=table.index)
    return pd.concat([front, table], axis=1)


def _frame(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for column in frame.columns:  # None in a numeric column is a missing number
        if frame[column].dtype == object and frame[column].map(lambda v: v is None or isinstance(v, (int, float))
                                                                and not isinstance(v, bool)).all():
            frame[column] = pd.to_numeric(frame[column])
    return frame
