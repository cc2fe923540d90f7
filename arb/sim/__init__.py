"""Loopback exchange simulator speaking MEXC's and Gate.io's real wire protocols."""

from arb.sim.scenario import Fault, FaultKind, Scenario, load_scenario, parse_scenario
from arb.sim.server import Simulator, banner, serve

__all__ = [
    "Fault",
    "FaultKind",
    "Scenario",
    "Simulator",
    "banner",
    "load_scenario",
    "parse_scenario",
    "serve",
]
