"""Turns, turn-taking and turn-level prosodic entrainment.

Pitch exists only while someone speaks and two people seldom speak at once, so vocal
matching is measured turn by turn (Levitan & Hirschberg 2011), not by correlating two
pitch series frame by frame:

1. :func:`find_turns` - each person's turns from their voice activity;
2. :func:`turn_taking` - who takes over from whom, how fast (response latency), with
   overlaps, and the pauses inside one person's speech;
3. :func:`turn_features` - per-turn prosody: mean f0, f0 range, mean intensity and a
   speaking-rate proxy;
4. :func:`entrainment` - proximity, convergence and synchrony of adjacent turns' features,
   each against a surrogate baseline of shuffled turn pairs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from synchrony._validate import check_positive
from synchrony.errors import ParameterError

__all__ = ["find_turns", "turn_taking", "turn_features", "entrainment", "FEATURES"]

#: Per-turn features that :func:`entrainment` uses by default.
FEATURES = ("f0_mean_hz", "f0_range_st", "intensity_mean_db", "speaking_rate_proxy")
_TURN_COLUMNS = ["person", "start_s", "end_s", "duration_s"]
_FLOOR_CHANGES = ("switch", "overlap")


def find_turns(activity, *, min_turn_s=0.1, max_pause_s=0.5) -> pd.DataFrame:
    """Each person's turns: their voice activity with short pauses bridged.

    A person's pause (a run of inactive frames between two active runs) of at most
    ``max_pause_s`` is bridged, so the two runs form one turn, unless someone else is
    active during the pause: then the partner has spoken in between, and the two runs
    stay separate turns (as in Levitan & Hirschberg's definition of a turn). Turns
    shorter than ``min_turn_s`` are then dropped. A turn of frames ``i..j`` runs from
    ``t_i - dt / 2`` to ``t_j + dt / 2``: frames are taken to stand for the interval
    around their time ``t``, ``dt`` being the clock's step. (Voice activity from
    :func:`synchrony.extract.vad.voice_activity` extends about 20 ms beyond each end of
    the sound, half its analysis window; see that module.)

    Parameters
    ----------
    activity : mapping of str to pandas.Series of bool
        Person -> voice activity (e.g. ``voice_tracks(...)[p]["voice_active"]``), all
        indexed by the same uniform ``time_s`` clock (s).
    min_turn_s : float, default 0.1
        Shortest turn kept, in seconds.
    max_pause_s : float, default 0.5
        Longest pause inside one turn, in seconds. 0.5 s is a common boundary between a
        pause within a speaker's turn and a gap between turns in studies of
        conversational timing; change it for slower or faster talk.

    Returns
    -------
    pandas.DataFrame
        One row per turn, sorted by ``start_s``: ``person`` (str), ``start_s``,
        ``end_s``, ``duration_s`` (s).

    Raises
    ------
    ParameterError
        If the activities are not bool Series on one uniform clock, or an option is
        out of range.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> t = pd.Index(np.arange(400) / 100, name="time_s")
    >>> a = pd.Series(((t >= 0.5) & (t < 1.2)) | ((t >= 1.4) & (t < 2.0)), index=t)
    >>> b = pd.Series((t >= 2.3) & (t < 3.5), index=t)
    >>> find_turns({"A": a, "B": b}).round(3).values.tolist()
    [['A', 0.495, 1.995, 1.5], ['B', 2.295, 3.495, 1.2]]
    """
    func = "find_turns"
    min_turn_s = check_positive(min_turn_s, "min_turn_s", func, allow_zero=True)
    max_pause_s = check_positive(max_pause_s, "max_pause_s", func, allow_zero=True)
    t, masks = _activity_matrix(activity, func)
    persons = list(activity)
    if t.size == 0:
        return pd.DataFrame({c: pd.Series(dtype=object if c == "person" else float)
                             for c in _TURN_COLUMNS})
    dt = float(np.median(np.diff(t))) if t.size > 1 else 0.01
    max_gap = int(math.floor(max_pause_s / dt + 1e-9))
    min_len = math.ceil(min_turn_s / dt - 1e-9)
    rows = []
    for k, person in enumerate(persons):
        mine = masks[k]
        others = np.zeros_like(mine)
        for j in range(len(persons)):
            if j != k:
                others |= masks[j]
        mine = mine.copy()
        starts, ends = _runs(~mine)
        for s, e in zip(starts, ends):
            if s > 0 and e < mine.size and e - s <= max_gap and not others[s:e].any():
                mine[s:e] = True
        for s, e in zip(*_runs(mine)):
            if e - s >= min_len:
                rows.append((person, t[s] - dt / 2, t[e - 1] + dt / 2))
    turns = pd.DataFrame(rows, columns=["person", "start_s", "end_s"])
    turns["duration_s"] = turns["end_s"] - turns["start_s"]
    return turns.sort_values(["start_s", "end_s"], kind="stable").reset_index(drop=True)


def turn_taking(turns) -> pd.DataFrame:
    """Turn-taking events: every turn after the first, and the turn it follows.

    The turn a turn *follows* is, among the turns that started before it, the one that
    ends last (so a partner's short turn inside a long one does not count as the one
    followed afterwards). Each event has a kind:

    ``switch``
        Another person takes over after a gap: ``gap_s >= 0`` is the response latency.
    ``overlap``
        Another person takes over before the previous turn ended (``gap_s < 0``, its
        size is the overlap) and goes on after it.
    ``inside``
        Another person's turn starts and ends inside the previous turn (a backchannel,
        or an overlap that does not take the floor); ``gap_s < 0``.
    ``pause``
        The same person resumes after a pause longer than the turns' ``max_pause_s``;
        ``gap_s`` is the pause.

    Parameters
    ----------
    turns : pandas.DataFrame
        Columns ``person``, ``start_s``, ``end_s`` (from :func:`find_turns`).

    Returns
    -------
    pandas.DataFrame
        One row per event in order of ``to_start_s``: ``from_person``, ``to_person``,
        ``kind``, ``from_end_s``, ``to_start_s``, ``gap_s`` (s, ``to_start_s -
        from_end_s``: negative for overlap), ``from_turn`` and ``to_turn`` (row labels
        in ``turns``).

    Examples
    --------
    >>> import pandas as pd
    >>> turns = pd.DataFrame({"person": ["A", "B", "B", "A"], "start_s": [0.0, 1.0, 3.2, 4.5],
    ...                       "end_s": [3.0, 1.4, 4.8, 6.0]})
    >>> turn_taking(turns)[["from_person", "to_person", "kind", "gap_s"]].round(3).values.tolist()
    [['A', 'B', 'inside', -2.0], ['A', 'B', 'switch', 0.2], ['B', 'A', 'overlap', -0.3]]
    """
    turns = _check_turns(turns, "turn_taking")
    order = np.lexsort((turns["end_s"].to_numpy(), turns["start_s"].to_numpy()))
    start = turns["start_s"].to_numpy(dtype=float)[order]
    end = turns["end_s"].to_numpy(dtype=float)[order]
    person = turns["person"].to_numpy()[order]
    labels = turns.index.to_numpy()[order]
    rows = []
    best = -1  # position (in start order) of the turn ending last so far
    for j in range(len(order)):
        if best >= 0:
            gap = start[j] - end[best]
            if person[j] == person[best]:
                kind = "pause"
            elif gap >= 0:
                kind = "switch"
            elif end[j] > end[best]:
                kind = "overlap"
            else:
                kind = "inside"
            rows.append((person[best], person[j], kind, end[best], start[j], gap,
                         labels[best], labels[j]))
        if best < 0 or end[j] >= end[best]:
            best = j
    return pd.DataFrame(rows, columns=["from_person", "to_person", "kind", "from_end_s",
                                       "to_start_s", "gap_s", "from_turn", "to_turn"])


def turn_features(turns, f0, intensity, *, min_peak_prominence_db=2.0,
                  min_peak_distance_s=0.1) -> pd.DataFrame:
    """Prosody of each turn: f0 mean and range, mean intensity, a speaking-rate proxy.

    Over the frames of the turn's person with ``start_s <= time_s < end_s``:

    ``f0_mean_hz``
        Mean f0 of the voiced frames, in Hz (NaN without voiced frames).
    ``f0_range_st``
        Spread of f0 in semitones, ``12 * log2(p95 / p5)`` of the voiced frames'
        f0 (5th and 95th percentiles rather than min and max, so that a single octave
        error does not set the range); NaN with fewer than 3 voiced frames.
    ``intensity_mean_db``
        Mean of the frames' intensity in dB.
    ``speaking_rate_proxy``
        Syllable-nucleus rate in peaks per second, after de Jong & Wempe (2009): the
        number of voiced intensity peaks that stand at least ``min_peak_prominence_db``
        above the dips around them and are at least ``min_peak_distance_s`` apart,
        divided by the turn's duration. Each syllable has one loudness peak on its
        vowel, so this tracks syllables per second without a transcript.
    ``n_voiced``
        Number of voiced frames (how much pitch the two f0 columns rest on).

    Parameters
    ----------
    turns : pandas.DataFrame
        Columns ``person``, ``start_s``, ``end_s`` (from :func:`find_turns`).
    f0 : mapping of str to pandas.Series
        Person -> f0 in Hz (NaN where unvoiced), indexed by ``time_s``.
    intensity : mapping of str to pandas.Series
        Person -> intensity in dB, indexed by ``time_s`` (the same frames as ``f0``).
    min_peak_prominence_db : float, default 2.0
    min_peak_distance_s : float, default 0.1

    Returns
    -------
    pandas.DataFrame
        ``turns``' ``person``, ``start_s`` and ``end_s`` (same row labels), then the
        feature columns above.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> t = pd.Index(np.arange(200) / 100, name="time_s")
    >>> f0 = pd.Series(np.where(t < 1, 200.0, np.nan), index=t)
    >>> level = pd.Series(-30 + 6 * np.cos(2 * np.pi * 4 * t), index=t)  # 4 peaks/s
    >>> turns = pd.DataFrame({"person": ["A"], "start_s": [0.0], "end_s": [1.0]})
    >>> row = turn_features(turns, {"A": f0}, {"A": level}).iloc[0]
    >>> float(row.f0_mean_hz), float(row.f0_range_st), float(row.speaking_rate_proxy)
    (200.0, 0.0, 3.0)
    """
    from scipy.signal import find_peaks

    func = "turn_features"
    turns = _check_turns(turns, func)
    for name, tracks in (("f0", f0), ("intensity", intensity)):
        if not isinstance(tracks, Mapping) or not all(
                isinstance(s, pd.Series) for s in tracks.values()):
            raise ParameterError.expected(name, func, "a mapping of person to pandas Series",
                                          type(tracks).__name__)
        missing = set(turns["person"]) - set(tracks)
        if missing:
            raise ParameterError.expected(name, func, "a series for every person in turns",
                                          f"none for {sorted(missing)}")
    prominence = check_positive(min_peak_prominence_db, "min_peak_prominence_db", func,
                                allow_zero=True)
    distance_s = check_positive(min_peak_distance_s, "min_peak_distance_s", func)

    columns = {k: [] for k in ("f0_mean_hz", "f0_range_st", "intensity_mean_db",
                               "speaking_rate_proxy", "n_voiced")}
    for person, start_s, end_s in turns[["person", "start_s", "end_s"]].itertuples(
            index=False):
        pitch = f0[person]
        tf = np.asarray(pitch.index, dtype=float)
        fv = pitch.to_numpy(dtype=float)[(tf >= start_s) & (tf < end_s)]
        fv = fv[np.isfinite(fv) & (fv > 0)]
        level = intensity[person]
        ti = np.asarray(level.index, dtype=float)
        inside = (ti >= start_s) & (ti < end_s)
        lv = level.to_numpy(dtype=float)[inside]
        columns["f0_mean_hz"].append(fv.mean() if fv.size else np.nan)
        columns["f0_range_st"].append(
            12 * np.log2(np.percentile(fv, 95) / np.percentile(fv, 5)) if fv.size >= 3
            else np.nan)
        columns["intensity_mean_db"].append(np.nanmean(lv) if np.isfinite(lv).any()
                                            else np.nan)
        columns["n_voiced"].append(int(fv.size))
        rate = np.nan
        if lv.size >= 3 and end_s > start_s:
            step = float(np.median(np.diff(ti))) if ti.size > 1 else 0.01
            peaks, _ = find_peaks(np.nan_to_num(lv, nan=np.nanmin(lv)),
                                  prominence=prominence,
                                  distance=max(1, int(round(distance_s / step))))
            rate = float(_voiced_at(ti[inside][peaks], tf, pitch.to_numpy(dtype=float))
                         .sum()) / (end_s - start_s)
        columns["speaking_rate_proxy"].append(rate)
    out = turns[["person", "start_s", "end_s"]].copy()
    for name, values in columns.items():
        out[name] = np.asarray(values, dtype=np.int64 if name == "n_voiced" else float)
    return out


def entrainment(features, *, taking=None, feature_names=FEATURES, n_surrogates=1000,
                standardize=True, alternative="entrainment", seed=None) -> pd.DataFrame:
    """Turn-level prosodic entrainment with a shuffled-pairs baseline.

    The pairs are the adjacent turns where the floor changes hands: each ``switch`` or
    ``overlap`` event of :func:`turn_taking` pairs the previous turn ``p`` (A's) with
    the next ``q`` (B's). For each feature ``x`` (Levitan & Hirschberg 2011):

    ``proximity``
        ``-mean |x_q - x_p|`` over the pairs: partners sound similar turn by turn.
        L&H compare it with the difference to non-adjacent turns; here the surrogate
        pairs are those non-adjacent turns.
    ``convergence``
        Pearson r between the time of ``q`` (its start, s) and ``|x_q - x_p|``:
        negative when partners become more similar over the session.
    ``synchrony``
        Pearson r between ``x_p`` and ``x_q``: B's turn follows A's previous turn up and
        down (a relative match, even when their levels differ).

    Surrogates keep every turn and every pair's direction and time, and pair each ``q``
    with a ``p`` drawn at random, without replacement, from the previous turns of the
    same direction (a permutation of the ``p`` among the A->B pairs, and separately
    among the B->A pairs). p-values count the surrogates at least as extreme as the
    observed value, with the +1 correction ``(1 + count) / (1 + n_surrogates)``, so a
    p-value is never 0. Proximity is tested against a shuffled-pairs baseline, which
    differs from L&H's paired t-test; a shared slow drift of both partners also
    raises synchrony against shuffled pairs, so read synchrony with the convergence rows.

    Parameters
    ----------
    features : pandas.DataFrame
        One row per turn with ``person``, ``start_s``, ``end_s`` and the feature columns
        (from :func:`turn_features`).
    taking : pandas.DataFrame, optional
        :func:`turn_taking` of the same turns (same row labels); computed if omitted.
    feature_names : sequence of str, default :data:`FEATURES`
        Feature columns to test; absent ones are skipped.
    n_surrogates : int, default 1000
    standardize : bool, default True
        z-score each feature within each person (over that person's turns) first. An
        infant's f0 sits about an octave above the parent's: without this, proximity of
        raw values mostly measures that fixed difference.
    alternative : {"entrainment", "two-sided"}, default "entrainment"
        "entrainment": one-sided in the entraining direction (proximity and synchrony
        greater, convergence lower than the surrogates). "two-sided": distance from the
        surrogate mean in either direction (entrainment or dis-entrainment).
    seed : int or numpy.random.Generator, optional
        All randomness comes from ``numpy.random.default_rng(seed)``.

    Returns
    -------
    pandas.DataFrame
        Tidy: one row per feature x measure x direction (``"A->B"`` per ordered pair of
        persons, and ``"all"`` pooling them), columns ``feature``, ``measure``,
        ``direction``, ``value``, ``surrogate_mean``, ``surrogate_sd``, ``p_value``,
        ``n_pairs``. Values are NaN with fewer than 3 complete pairs.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(200, 20, 30)                      # A's turn pitch
    >>> b = 1.5 * a + rng.normal(0, 5, 30)               # B answers at A's pitch x 1.5
    >>> f0 = np.ravel(np.column_stack([a, b]))
    >>> start = np.arange(60) * 2.0
    >>> turns = pd.DataFrame({"person": ["A", "B"] * 30, "start_s": start,
    ...                       "end_s": start + 1.5, "f0_mean_hz": f0})
    >>> res = entrainment(turns, feature_names=["f0_mean_hz"], n_surrogates=199, seed=1)
    >>> row = res.query("measure == 'synchrony' and direction == 'A->B'").iloc[0]
    >>> round(float(row.value), 2), float(row.p_value)
    (0.98, 0.005)
    """
    func = "entrainment"
    features = _check_turns(features, func, "features")
    if not isinstance(n_surrogates, (int, np.integer)) or n_surrogates < 1:
        raise ParameterError.expected("n_surrogates", func, "an int >= 1", n_surrogates)
    if alternative not in ("entrainment", "two-sided"):
        raise ParameterError.expected("alternative", func, "'entrainment' or 'two-sided'",
                                      alternative)
    if isinstance(feature_names, str):
        feature_names = [feature_names]
    names = [f for f in feature_names if f in features.columns]
    if taking is None:
        taking = turn_taking(features)
    floor = taking[taking["kind"].isin(_FLOOR_CHANGES)]
    rng = np.random.default_rng(seed)

    directions = sorted({(a, b) for a, b in zip(floor["from_person"], floor["to_person"])})
    rows = []
    for name in names:
        x = features[name].astype(float)
        if standardize:
            grouped = x.groupby(features["person"])
            x = (x - grouped.transform("mean")) / grouped.transform("std")
        prev = x.reindex(floor["from_turn"]).to_numpy()
        nxt = x.reindex(floor["to_turn"]).to_numpy()
        when = features["start_s"].reindex(floor["to_turn"]).to_numpy(dtype=float)
        ok = np.isfinite(prev) & np.isfinite(nxt)
        pair_dir = np.array([f"{a}->{b}" for a, b in zip(floor["from_person"],
                                                         floor["to_person"])])
        prev, nxt, when, pair_dir = prev[ok], nxt[ok], when[ok], pair_dir[ok]
        # One set of shuffles serves every direction and the pooled rows, so the
        # pooled surrogates are made of the per-direction ones.
        perm = np.tile(np.arange(prev.size), (n_surrogates, 1))
        for a, b in directions:
            cols = np.flatnonzero(pair_dir == f"{a}->{b}")
            if cols.size:
                perm[:, cols] = cols[rng.permuted(np.tile(np.arange(cols.size),
                                                          (n_surrogates, 1)), axis=1)]
        for label in [f"{a}->{b}" for a, b in directions] + ["all"]:
            cols = np.flatnonzero(pair_dir == label) if label != "all" else \
                np.arange(prev.size)
            observed = _measures(prev[cols][None, :], nxt[cols], when[cols])
            surrogate = _measures(prev[perm[:, cols]], nxt[cols], when[cols])
            for measure in ("proximity", "convergence", "synchrony"):
                rows.append(_row(name, measure, label, observed[measure][0],
                                 surrogate[measure], cols.size, alternative))
    return pd.DataFrame(rows, columns=["feature", "measure", "direction", "value",
                                       "surrogate_mean", "surrogate_sd", "p_value",
                                       "n_pairs"])


# ---------------------------------------------------------------------------- helpers


def _measures(prev: np.ndarray, nxt: np.ndarray, when: np.ndarray) -> dict:
    """Proximity, convergence and synchrony of each row of ``prev`` against ``nxt``."""
    diff = np.abs(nxt[None, :] - prev)
    return {"proximity": -diff.mean(axis=1) if diff.shape[1] else np.full(len(prev), np.nan),
            "convergence": _rowcorr(diff, when),
            "synchrony": _rowcorr(prev, nxt)}


def _rowcorr(rows: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r of each row of ``rows`` with ``y`` (NaN when either is constant)."""
    if rows.shape[1] < 3:
        return np.full(rows.shape[0], np.nan)
    a = rows - rows.mean(axis=1, keepdims=True)
    b = y - y.mean()
    den = np.sqrt((a * a).sum(axis=1) * (b * b).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (a @ b) / den, np.nan)


def _row(feature, measure, direction, value, surrogate, n_pairs, alternative):
    if n_pairs < 3 or not np.isfinite(value):
        return (feature, measure, direction, np.nan, np.nan, np.nan, np.nan, n_pairs)
    s = surrogate[np.isfinite(surrogate)]
    mean = float(s.mean()) if s.size else np.nan
    sd = float(s.std(ddof=1)) if s.size > 1 else np.nan
    if alternative == "two-sided":
        extreme = np.abs(s - mean) >= abs(value - mean) - 1e-12
    elif measure == "convergence":
        extreme = s <= value + 1e-12
    else:
        extreme = s >= value - 1e-12
    p = (1 + int(extreme.sum())) / (1 + s.size)
    return (feature, measure, direction, float(value), mean, sd, p, n_pairs)


def _voiced_at(times, tf, f0):
    """Whether the f0 frame nearest each time is voiced."""
    if tf.size == 0:
        return np.zeros(len(times), bool)
    j = np.clip(np.searchsorted(tf, times), 0, tf.size - 1)
    left = np.clip(j - 1, 0, tf.size - 1)
    j = np.where(np.abs(tf[left] - times) < np.abs(tf[j] - times), left, j)
    return np.isfinite(f0[j]) & (f0[j] > 0)


def _activity_matrix(activity, func):
    if not isinstance(activity, Mapping) or not activity:
        raise ParameterError.expected("activity", func, "a non-empty mapping of person to "
                                      "bool Series", type(activity).__name__)
    series = list(activity.values())
    if not all(isinstance(s, pd.Series) and s.dtype == bool for s in series):
        raise ParameterError.expected("activity", func, "bool pandas Series indexed by "
                                      "time_s", [type(s).__name__ for s in series])
    index = series[0].index
    if not all(s.index.equals(index) for s in series[1:]):
        raise ParameterError.expected("activity", func, "series on one common clock "
                                      "(equal indexes)", "different indexes")
    t = np.asarray(index, dtype=float)
    if t.size > 2:
        steps = np.diff(t)
        if (steps <= 0).any() or np.ptp(steps) > 0.01 * np.median(steps):
            raise ParameterError.expected("activity", func, "series on a uniform, increasing "
                                          "clock", f"steps from {steps.min():g} to "
                                          f"{steps.max():g} s")
    return t, np.stack([s.to_numpy() for s in series])


def _check_turns(turns, func, name="turns"):
    need = {"person", "start_s", "end_s"}
    if not isinstance(turns, pd.DataFrame) or not need <= set(turns.columns):
        raise ParameterError.expected(name, func, "a DataFrame with columns person, "
                                      "start_s and end_s", type(turns).__name__)
    if not turns.index.is_unique:
        raise ParameterError.expected(name, func, "a DataFrame with unique row labels",
                                      "duplicate labels")
    return turns


def _runs(mask: np.ndarray):
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.astype(np.int8), [0]))))
    return edges[0::2], edges[1::2]
