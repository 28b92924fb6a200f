"""TFRecord framing, the container of TensorBoard event files.

Each record is::

    uint64 length            (little-endian)
    uint32 masked_crc(length bytes)
    bytes  data[length]
    uint32 masked_crc(data)

The checksum is CRC-32C (Castagnoli polynomial, the one in iSCSI, RFC 3720),
"masked" so that a CRC of data that itself contains CRCs stays well spread:
rotate right by 15 bits and add a constant (TensorFlow's
``tensorflow/core/lib/hash/crc32c.h``). Pure Python: event files from the
playground are a few kilobytes, and this must run in Pyodide.
"""

from __future__ import annotations

import struct

__all__ = ["crc32c", "masked_crc32c", "record"]

_CASTAGNOLI_REVERSED = 0x82F63B78
_MASK_DELTA = 0xA282EAD8


def _table() -> list[int]:
    """CRC of each byte value, for the byte-at-a-time (reflected) algorithm."""
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _CASTAGNOLI_REVERSED if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _table()


def crc32c(data: bytes) -> int:
    """CRC-32C of ``data`` (``crc32c(b"123456789") == 0xE3069283``)."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    crc = crc32c(data)
    rotated = ((crc >> 15) | (crc << 17)) & 0xFFFFFFFF
    return (rotated + _MASK_DELTA) & 0xFFFFFFFF


def record(data: bytes) -> bytes:
    """``data`` framed as one TFRecord."""
    length = struct.pack("<Q", len(data))
    return (
        length
        + struct.pack("<I", masked_crc32c(length))
        + data
        + struct.pack("<I", masked_crc32c(data))
    )
