"""Regenerate docs/report_screenshot.png: the top of the sample session's report.html.

Analyses sample_media/dyad_split.mp4 as ``synchrony demo`` does (its extracted tracks are
cached in the work folder, so a second run only re-renders), writes report.html, has
headless Chromium (Debian's ``chromium``) take a 1200 px wide screenshot of its top, and
stores it as an optimised palette PNG under 300 KB.

    .venv/bin/python docs/make_screenshot.py [--work FOLDER]
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

from synchrony.config import AnalysisConfig
from synchrony.pipeline import analyze
from synchrony.report.html import write_report
from synchrony.session import Session

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_media" / "dyad_split.mp4"
OUT = REPO / "docs" / "report_screenshot.png"
WIDTH_PX, HEIGHT_PX = 1200, 2000
MAX_BYTES = 300_000
# Only the file:// page we give it: nothing to fetch, no profile, sync or updates.
FLAGS = ["--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars", "--no-first-run",
         "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--disable-default-apps", "--disable-extensions", "--metrics-recording-only",
         "--force-device-scale-factor=1"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, help="folder for the analysis and its cache (default: a temporary one)")
    args = parser.parse_args(argv)
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("chromium not found (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp) / "sample"
        session = Session(layout="split", videos=str(SAMPLE))
        result = analyze(session, config=AnalysisConfig(persons=session.persons), out_dir=work)
        report = write_report(result, work / "report.html")
        shot = Path(tmp) / "shot.png"
        subprocess.run([chromium, *FLAGS, f"--user-data-dir={Path(tmp) / 'profile'}", f"--screenshot={shot}",
                        f"--window-size={WIDTH_PX},{HEIGHT_PX}", report.resolve().as_uri()],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        with Image.open(shot) as im:
            # 256 colours keep text and figures crisp at a fraction of the size.
            im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE) \
                .save(OUT, format="PNG", optimize=True)
    size = OUT.stat().st_size
    print(f"wrote {OUT.relative_to(REPO)} ({size / 1000:.0f} KB)")
    return 0 if size < MAX_BYTES else 1


if __name__ == "__main__":
    sys.exit(main())
