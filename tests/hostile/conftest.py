"""Fixtures for the hostile-input suite: the integration suite's fixtures
(backends, gateways, the per-test alarm) loaded from tests/integration, so
an attack test reads like any other integration test.

Every test here is an attack kept as a regression: it must fail on a
gateway without the fix and stay bounded to a few seconds.
"""
import importlib.util
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_INTEGRATION = os.path.join(_HERE, "..", "integration")
sys.path.insert(0, _INTEGRATION)

_spec = importlib.util.spec_from_file_location(
    "sy_integration_conftest", os.path.join(_INTEGRATION, "conftest.py"))
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
globals().update({k: v for k, v in vars(_mod).items() if not k.startswith("__")})
