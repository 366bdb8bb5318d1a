"""A local stand-in for Twilio's REST API, status callbacks and inbound webhooks.

Start it in-process with ``async with running_simulator(config) as base_url`` (or
``SimulatorServer`` for access to its state), or from a shell with
``python -m localdev.twilio_sim --port 4010``.
"""

from localdev.twilio_sim.app import create_app
from localdev.twilio_sim.config import ConfigError, SimConfig
from localdev.twilio_sim.server import SimulatorServer, running_simulator

__all__ = ["ConfigError", "SimConfig", "SimulatorServer", "create_app", "running_simulator"]
