"""An HTTP proxy that puts Twilio's bad days between a client and the simulator."""

from localdev.fault_proxy.proxy import FAULTS, FaultProxy, ProxyConfig, ProxyStats

__all__ = ["FAULTS", "FaultProxy", "ProxyConfig", "ProxyStats"]
