"""doc/config.md's Gateway key reference is generated from the key table the
parser uses (src/config/gateway_keys.c): the two cannot disagree.  Every key
the reference lists is accepted by the parser, and a key it does not list is
refused as unknown."""
import os
import re

import pytest

from syharness.gateway import BIN, run_cli

DOC = os.path.join(os.path.dirname(__file__), "..", "..", "doc", "config.md")


def doc_block():
    text = open(DOC, encoding="utf-8").read()
    m = re.search(r"<!-- gateway-keys:[^\n]*-->\n(.*?)<!-- /gateway-keys -->", text, re.S)
    assert m, "doc/config.md lost its gateway-keys markers"
    return m.group(1)


def test_reference_is_generated_from_the_key_table():
    r = run_cli("config-keys")
    assert r.returncode == 0, r
    assert r.stdout == doc_block(), (
        "doc/config.md's Gateway keys differ from the key table: run `make config-doc`")


def keys():
    return [m.group(1) for m in re.finditer(r"^\| `([A-Za-z0-9.]+)` \|", doc_block(), re.M)]


def test_every_documented_key_is_known_to_the_parser(tmp_path):
    top = sorted({k.split(".")[0] for k in keys()})
    assert "Listen" in top and "Tls" in top and len(top) > 30
    # An unknown key is named; a documented one never is.
    cfg = tmp_path / "gw.yaml"
    cfg.write_text("Gateway:\n  NoSuchKey: 1\n")
    r = run_cli("-t", "-c", str(cfg))
    assert r.returncode != 0 and "Gateway.NoSuchKey: unknown key" in r.stderr, r
    for k in top:
        cfg.write_text("Gateway:\n  %s: !!null\n" % k)
        r = run_cli("-t", "-c", str(cfg))
        assert "unknown key" not in r.stderr, (k, r.stderr)


@pytest.mark.parametrize("key,value,want", [
    ("IdleTimeout", "0.05", "IdleTimeout: must be"),       # below the table's 0.1
    ("MaxHeaders", "10001", "MaxHeaders: must be"),        # above the table's 10000
    ("Http2MaxResetsPerSecond", "0", "Http2MaxResetsPerSecond: must be"),
])
def test_numeric_ranges_come_from_the_table(tmp_path, key, value, want):
    cfg = tmp_path / "gw.yaml"
    cfg.write_text("Gateway:\n  %s: %s\n" % (key, value))
    r = run_cli("-t", "-c", str(cfg))
    assert r.returncode != 0 and want in r.stderr, r.stderr
