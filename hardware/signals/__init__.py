"""Signal-controller drivers: real protocols behind the ``hardware.signal.SignalPhaseFeed`` interface.

``ntcip``: NTCIP 1202 phase status groups over SNMP (``snmp``: a minimal SNMPv1/v2c GET codec and UDP client).
"""

from hardware.signals.ntcip import NtcipConfig, NtcipController, NtcipHeadFeed
from hardware.signals.snmp import SnmpClient, SnmpError, SnmpTimeoutError

__all__ = ["NtcipConfig", "NtcipController", "NtcipHeadFeed", "SnmpClient", "SnmpError", "SnmpTimeoutError"]
