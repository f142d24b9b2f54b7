"""The house style (.clang-format, Debian's clang-format 14) holds for every
C file of src/, tests/unit/ and fuzz/: a change that is not formatted fails
here (run `make format`)."""
import glob
import os
import subprocess

from syharness.gateway import REPO


def c_files():
    out = []
    for d in ("src", "tests/unit", "fuzz"):
        for ext in ("c", "h"):
            out += glob.glob(os.path.join(REPO, d, "**", "*." + ext), recursive=True)
    return sorted(out)


def test_c_sources_are_clang_formatted():
    files = c_files()
    assert len(files) > 100, files[:3]
    r = subprocess.run(["clang-format", "--dry-run", "--Werror"] + files, cwd=REPO,
                       capture_output=True, text=True, timeout=300)
    bad = sorted({line.split(":")[0] for line in r.stderr.splitlines() if ": error:" in line})
    assert r.returncode == 0 and not bad, "not formatted (make format): %s" % bad[:20]
