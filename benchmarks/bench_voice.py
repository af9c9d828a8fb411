"""Benchmark voice extraction: f0 + intensity + voice activity of both people.

Times ``synchrony.extract.voice.voice_tracks`` (the call the pipeline makes: per channel
``intensity_db``, Praat's pitch through parselmouth, ``voice_activity``) on a synthesised
10-minute two-channel session, at 16 kHz and at 48 kHz. Reports the median wall time of
3 runs (after one untimed warm-up on a short clip, which loads parselmouth), min-max,
process CPU time, and the real-time factor = audio duration / wall time (100x means a
10-minute session takes 6 s). One extra run is split by stage.

The session (seeded): person A (adult-like harmonic glides, 90-250 Hz) and person B
(infant-like, 250-650 Hz) take turns of 0.4-3 s with syllable-rate loudness modulation
and gaps of 0.2-2 s, some overlapping; each microphone also picks up the partner 20 dB
down, over pink background noise about 45 dB below the voices. Voices are made at 16 kHz
and upsampled for the 48 kHz run (the noise is full-band at each rate).

BLAS and OpenMP pools are pinned to one thread; Praat's pitch analysis runs its own
threads, one per core. Each rate is timed with the process allowed on every core and
pinned to one core (``os.sched_setaffinity``), interleaved run by run so that load from
other processes hits both alike. Memory: tracemalloc peak of one call (Python and NumPy
allocations; Praat's own C++ buffers are not counted).

Run from the repository root::

    .venv/bin/python benchmarks/bench_voice.py            # print the table
    .venv/bin/python benchmarks/bench_voice.py --write    # also update benchmarks/README.md
"""

from __future__ import annotations

import os

# Imported first: it keeps the environment as found (for tools such as `nproc` that
# also read OMP_NUM_THREADS), before any thread pinning below.
from _common import load_average, machine_facts, write_section  # noqa: E402
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from synchrony.extract.pitch import pitch_track  # noqa: E402
from synchrony.extract.vad import voice_activity  # noqa: E402
from synchrony.extract.voice import intensity_db, voice_tracks  # noqa: E402

README = HERE / "README.md"
START = "<!-- bench_voice results: start (written by bench_voice.py --write) -->"
END = "<!-- bench_voice results: end -->"
DURATION_S = 600.0
SEED = 20261123
RATES_HZ = (16000, 48000)


def session(sr_hz: int, duration_s: float = DURATION_S, seed: int = SEED) -> np.ndarray:
    """Two channels (A, B) of float32 audio at ``sr_hz``; see the module docstring."""
    from scipy.signal import resample_poly

    base_sr = 16000
    rng = np.random.default_rng(seed)
    n = int(duration_s * base_sr)
    voices = np.zeros((2, n))
    at, who = 0.5, 0
    while at < duration_s - 4:
        d = rng.uniform(0.4, 3.0)
        lo, hi = (90, 250) if who == 0 else (250, 650)
        m = int(d * base_sr)
        t = np.arange(m) / base_sr
        f0 = rng.uniform(lo, hi) * (rng.uniform(lo, hi) / rng.uniform(lo, hi)) ** (t / d)
        f0 = np.clip(f0, lo, hi)
        phase = 2 * np.pi * np.cumsum(f0) / base_sr
        x = sum(np.sin(k * phase) / k for k in range(1, int(4000 // hi) + 1))
        envelope = 10 ** (-12 * (0.5 + 0.5 * np.cos(2 * np.pi * rng.uniform(3, 5) * t)) / 20)
        i = int(at * base_sr)
        voices[who, i:i + m] += 0.2 * x * envelope / np.abs(x).max()
        at += d + rng.uniform(-0.3, 2.0)
        who = 1 - who
    if sr_hz != base_sr:
        voices = resample_poly(voices, sr_hz // base_sr, 1, axis=1)
    mics = voices + 0.1 * voices[::-1]  # each microphone hears the partner 20 dB down
    white = rng.standard_normal(mics.shape)
    spectrum = np.fft.rfft(white, axis=1)
    spectrum[:, 1:] /= np.sqrt(np.arange(1, spectrum.shape[1]))
    spectrum[:, 0] = 0
    pink = np.fft.irfft(spectrum, mics.shape[1], axis=1)
    pink *= 10 ** (-60 / 20) / pink.std(axis=1, keepdims=True)
    return (mics + pink).astype(np.float32)


def track(samples, sr_hz):
    return SimpleNamespace(samples=samples, sr_hz=sr_hz, start_s=0.0, path="bench.wav")


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def stages(samples, sr_hz):
    """Wall seconds per stage over both channels, as voice_tracks chains them."""
    spent = {"intensity": 0.0, "pitch": 0.0, "voice activity": 0.0}
    for channel in samples:
        w, _, level = timed(lambda: intensity_db(channel, sr_hz))
        spent["intensity"] += w
        w, _, pitch = timed(lambda: pitch_track(channel, sr_hz))
        spent["pitch"] += w
        w, _, _ = timed(lambda: voice_activity(channel, sr_hz, intensity=level,
                                               voiced=pitch["voiced"]))
        spent["voice activity"] += w
    return spent


def machine():
    import parselmouth
    import scipy

    return {
        **machine_facts(["synchrony/extract"]),
        "versions": f"NumPy {np.__version__}, SciPy {scipy.__version__}, parselmouth "
                    f"{parselmouth.__version__} (Praat {parselmouth.PRAAT_VERSION})",
    }


def render(info, rows, load_end, repeats):
    out = [
        f"- Date: {info['date']}",
        f"- Machine: {info['nproc']} CPU(s) (`nproc`), {info['cpu']}, {info['mem']} RAM",
        f"- Python {info['python']}; {info['versions']}",
        "- Threads: BLAS/OpenMP pools pinned to 1; Praat's pitch analysis uses its own "
        "threads, one per core",
        f"- synchrony: commit {info['commit']}",
        f"- Load average (1/5/15 min): {info['load']} at start, {load_end} at end",
        "",
        f"**`voice_tracks`** on a synthesised 10-minute two-channel session (f0 + intensity "
        f"+ voice activity, both people, 100 frames/s); median of {repeats} runs after one "
        "untimed warm-up. Real-time factor = 600 s of audio / wall time.",
        "",
        "| sample rate | cores | wall median (min–max) | CPU median "
        "| real-time factor | intensity | pitch (incl. resampling) | voice activity "
        "| tracemalloc peak |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        s = r["stages"]
        cells = (f"{s['intensity']:.2f} s | {s['pitch']:.2f} s | {s['voice activity']:.2f} s "
                 f"| {r['peak_mib']:.0f} MiB" if s else "| | |")
        out.append(
            f"| {r['sr'] // 1000} kHz | {r['cores']} | {r['wall']:.2f} s "
            f"({min(r['walls']):.2f}–{max(r['walls']):.2f}) | {r['cpu']:.2f} s "
            f"| **{DURATION_S / r['wall']:.0f}×** | {cells} |")
    out.append("")
    out.append("Stage columns: one extra run on all cores, split by stage (both channels "
               "summed). CPU time above wall time means Praat's threads ran in parallel.")
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per rate")
    parser.add_argument("--write", action="store_true",
                        help=f"also update the bench_voice results in {README}")
    args = parser.parse_args(argv)
    info = machine()
    voice_tracks(track(session(16000, duration_s=5.0), 16000))  # loads parselmouth
    all_cores = os.sched_getaffinity(0)
    settings = {f"{len(all_cores)} (all)": all_cores, "1 (pinned)": {min(all_cores)}}
    rows = []
    for sr in RATES_HZ:
        print(f"synthesising 10 min at {sr} Hz ...", file=sys.stderr)
        samples = session(sr)
        runs = {name: ([], []) for name in settings}
        for k in range(args.repeats):
            for name, (walls, cpus) in runs.items():
                os.sched_setaffinity(0, settings[name])
                try:
                    w, c, voices = timed(lambda: voice_tracks(track(samples, sr)))
                finally:
                    os.sched_setaffinity(0, all_cores)
                walls.append(w)
                cpus.append(c)
                print(f"  run {k + 1}, cores {name}: {w:.2f} s", file=sys.stderr)
        tracemalloc.start()
        voice_tracks(track(samples, sr))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        split = stages(samples, sr)
        for i, (name, (walls, cpus)) in enumerate(runs.items()):
            rows.append({"sr": sr, "cores": name, "walls": walls,
                         "wall": float(np.median(walls)), "cpu": float(np.median(cpus)),
                         "stages": split if i == 0 else None,
                         "peak_mib": peak / 2**20 if i == 0 else None})
        share = {p: round(float(v["voice_active"].mean()), 2) for p, v in voices.items()}
        print(f"  voice active share: {share}", file=sys.stderr)
    section = render(info, rows, "%.2f / %.2f / %.2f" % os.getloadavg(), args.repeats)
    print(section)
    if args.write:
        write_section(README, START, END, section)


if __name__ == "__main__":
    main()
