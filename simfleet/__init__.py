"""simfleet: a simulated fleet of SSH hosts on loopback addresses with injectable hardware and access faults."""

from simfleet.fault_specs import FaultKind
from simfleet.scenario import Scenario, ScenarioError, load_scenario
from simfleet.server import Fleet, SimHost, start_fleet

__all__ = ["FaultKind", "Fleet", "Scenario", "ScenarioError", "SimHost", "load_scenario", "start_fleet"]
