"""A minimal SNMPv1/v2c GET client: the BER encoding of RFC 1157 / RFC 3416 messages, over UDP.

Only what a signal-controller poll needs: one ``GetRequest`` with N object identifiers, one ``GetResponse`` with
INTEGER-like values (INTEGER, Counter32, Gauge32, TimeTicks, Counter64). ``noSuchObject`` / ``noSuchInstance`` /
``endOfMibView`` (v2c) and a non-zero ``error-status`` raise ``SnmpError``; no answer within the timeout (after the
retries) raises ``SnmpTimeoutError``. A response must carry the request's id and the requested OIDs in order.
"""

from __future__ import annotations

import itertools
import logging
import secrets
import socket
from collections.abc import Sequence

logger = logging.getLogger(__name__)

VERSIONS = {"v1": 0, "v2c": 1}
INTEGER, OCTET_STRING, NULL, OID, SEQUENCE = 0x02, 0x04, 0x05, 0x06, 0x30
GET_REQUEST, GET_RESPONSE = 0xA0, 0xA2
UNSIGNED = {0x41, 0x42, 0x43, 0x46}  # Counter32, Gauge32, TimeTicks, Counter64
EXCEPTIONS = {0x80: "noSuchObject", 0x81: "noSuchInstance", 0x82: "endOfMibView"}
ERRORS = ("noError", "tooBig", "noSuchName", "badValue", "readOnly", "genErr")


class SnmpError(RuntimeError):
    """The agent answered with an error, or the answer is malformed."""


class SnmpTimeoutError(SnmpError):
    """No answer from the agent."""


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag: int, body: bytes) -> bytes:
    """One BER tag-length-value."""
    return bytes([tag]) + _length(len(body)) + body


def encode_int(value: int) -> bytes:
    """A BER INTEGER (two's complement, minimal)."""
    size = max(1, (value + (value < 0)).bit_length() // 8 + 1)
    return tlv(INTEGER, value.to_bytes(size, "big", signed=True))


def encode_oid(oid: str) -> bytes:
    """A BER OBJECT IDENTIFIER from dotted text (``1.3.6.1...``)."""
    arcs = [int(a) for a in oid.strip(".").split(".")]
    if len(arcs) < 2 or arcs[0] > 2:
        raise ValueError(f"bad OID {oid!r}")
    body = bytearray()
    for arc in [40 * arcs[0] + arcs[1], *arcs[2:]]:
        chunk, rest = [arc & 0x7F], arc >> 7
        while rest:
            chunk.append(0x80 | (rest & 0x7F))
            rest >>= 7
        body += bytes(reversed(chunk))
    return tlv(OID, bytes(body))


def decode_oid(body: bytes) -> str:
    """Dotted text of a BER OBJECT IDENTIFIER body."""
    arcs: list[int] = []
    value = 0
    for byte in body:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    if not arcs:
        raise SnmpError("empty OID")
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in [first, arcs[0] - 40 * first, *arcs[1:]])


def read_tlv(data: bytes, pos: int) -> tuple[int, bytes, int]:
    """``(tag, body, next position)`` of the TLV at ``pos``."""
    if pos + 2 > len(data):
        raise SnmpError("truncated message")
    tag, length, pos = data[pos], data[pos + 1], pos + 2
    if length & 0x80:
        size = length & 0x7F
        length, pos = int.from_bytes(data[pos : pos + size], "big"), pos + size
    if pos + length > len(data):
        raise SnmpError("truncated message")
    return tag, data[pos : pos + length], pos + length


def _items(body: bytes) -> list[tuple[int, bytes]]:
    out: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(body):
        tag, value, pos = read_tlv(body, pos)
        out.append((tag, value))
    return out


def get_request(community: str, oids: Sequence[str], request_id: int, version: str = "v2c") -> bytes:
    """An SNMP GetRequest message."""
    varbinds = b"".join(tlv(SEQUENCE, encode_oid(o) + tlv(NULL, b"")) for o in oids)
    pdu = encode_int(request_id) + encode_int(0) + encode_int(0) + tlv(SEQUENCE, varbinds)
    body = encode_int(VERSIONS[version]) + tlv(OCTET_STRING, community.encode()) + tlv(GET_REQUEST, pdu)
    return tlv(SEQUENCE, body)


def parse_response(data: bytes, request_id: int, oids: Sequence[str]) -> dict[str, int]:
    """The values of a GetResponse to ``get_request(..., request_id)``; raises ``SnmpError``."""
    tag, body, _ = read_tlv(data, 0)
    parts = _items(body) if tag == SEQUENCE else []
    if len(parts) != 3 or parts[2][0] != GET_RESPONSE:
        raise SnmpError("not an SNMP GetResponse")
    fields = _items(parts[2][1])
    if len(fields) != 4:
        raise SnmpError("malformed PDU")
    if int.from_bytes(fields[0][1], "big", signed=True) != request_id:
        raise SnmpError("response to another request")
    status, index = (int.from_bytes(f[1], "big", signed=True) for f in fields[1:3])
    if status:
        name = ERRORS[status] if status < len(ERRORS) else str(status)
        raise SnmpError(f"agent error {name} at varbind {index}")
    values: dict[str, int] = {}
    for _, varbind in _items(fields[3][1]):
        (_, oid_body), (value_tag, value) = _items(varbind)
        oid = decode_oid(oid_body)
        if value_tag in EXCEPTIONS:
            raise SnmpError(f"{oid}: {EXCEPTIONS[value_tag]}")
        if value_tag != INTEGER and value_tag not in UNSIGNED:
            raise SnmpError(f"{oid}: not an integer (tag 0x{value_tag:02x})")
        values[oid] = int.from_bytes(value, "big", signed=value_tag == INTEGER)
    if list(values) != [o.strip(".") for o in oids]:
        raise SnmpError(f"answer names {list(values)}, asked {list(oids)}")
    return values


class SnmpClient:
    """Blocking SNMP GET over UDP.

    Args:
        host, port: the agent.
        community: the read community string.
        version: ``v1`` or ``v2c``.
        timeout_s: wait per attempt.
        retries: extra attempts after a timeout.
    """

    def __init__(
        self, host: str, port: int, community: str, version: str = "v2c", timeout_s: float = 1.0, retries: int = 1
    ) -> None:
        if version not in VERSIONS:
            raise ValueError(f"version must be one of {list(VERSIONS)}")
        self.address = (host, port)
        self.community, self.version = community, version
        self.timeout_s, self.retries = timeout_s, retries
        self._ids = itertools.count(secrets.randbelow(1 << 30))

    def get(self, oids: Sequence[str]) -> dict[str, int]:
        """Values of ``oids`` (dotted text, in order); raises ``SnmpTimeoutError`` or ``SnmpError``."""
        request_id = next(self._ids) & 0x7FFFFFFF
        message = get_request(self.community, oids, request_id, self.version)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(self.timeout_s)
            for attempt in range(self.retries + 1):
                sock.sendto(message, self.address)
                try:
                    while True:
                        data, _ = sock.recvfrom(65535)
                        try:
                            return parse_response(data, request_id, oids)
                        except SnmpError as exc:
                            if "another request" not in str(exc):
                                raise
                            logger.debug("late answer to an earlier request ignored")
                except TimeoutError:
                    logger.debug("snmp %s:%d attempt %d timed out", *self.address, attempt + 1)
        raise SnmpTimeoutError(
            f"no SNMP answer from {self.address[0]}:{self.address[1]} after {self.retries + 1} tries"
        )
