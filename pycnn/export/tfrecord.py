"""TFRecord framing, the container of TensorBoard event files.

Each record is::

    uint64 length            (little-endian)
    uint32 masked_crc(length bytes)
    bytes  data[length]
    uint32 masked_crc(data)

The checksum is CRC-32C (Castagnoli polynomial, the one in iSCSI, RFC 3720),
"masked" so that a CRC of data that itself contains CRCs stays well spread:
rotate right by 15 bits and add a constant (TensorFlow's
``tensorflow/core/lib/hash/crc32c.h``).

A log holds one small record per value, up to hundreds of thousands, and this
must run in Pyodide without a C extension: the CRCs of all records are
computed together with NumPy, one vectorised table step per byte position,
instead of one Python step per byte.
"""

from __future__ import annotations

import numpy as np

__all__ = ["crc32c", "masked_crc32c", "records"]

_CASTAGNOLI_REVERSED = 0x82F63B78
_MASK_DELTA = 0xA282EAD8


def _table() -> np.ndarray:
    """CRC of each byte value, for the byte-at-a-time (reflected) algorithm."""
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _CASTAGNOLI_REVERSED if crc & 1 else crc >> 1
        table.append(crc)
    return np.array(table, dtype=np.uint32)


_TABLE = _table()


def _crc32c_all(chunks: list[bytes]) -> np.ndarray:
    """CRC-32C of every chunk, as uint32 ``(len(chunks),)``."""
    # intp, not int64: np.repeat needs it, and it is 32 bits in Pyodide's WebAssembly
    lengths = np.array([len(chunk) for chunk in chunks], dtype=np.intp)
    order = np.argsort(-lengths, kind="stable")  # longest first: the rows still going are a prefix
    lengths = lengths[order]
    # one row per chunk, zero-padded: (chunks, longest)
    data = np.zeros((len(chunks), int(lengths.max(initial=0))), dtype=np.uint8)
    rows = np.repeat(np.arange(len(chunks)), lengths)
    columns = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    data[rows, columns] = np.frombuffer(b"".join(chunks[i] for i in order), dtype=np.uint8)
    crc = np.full(len(chunks), 0xFFFFFFFF, dtype=np.uint32)
    going = len(chunks)
    for position in range(data.shape[1]):
        while lengths[going - 1] <= position:
            going -= 1
        part = crc[:going]
        crc[:going] = _TABLE[(part ^ data[:going, position]) & 0xFF] ^ (part >> 8)
    out = np.empty_like(crc)
    out[order] = crc ^ np.uint32(0xFFFFFFFF)
    return out


def _mask(crc: np.ndarray) -> np.ndarray:
    rotated = (crc >> np.uint32(15)) | (crc << np.uint32(17))
    return rotated + np.uint32(_MASK_DELTA)  # uint32 arithmetic wraps, as wanted


def crc32c(data: bytes) -> int:
    """CRC-32C of ``data`` (``crc32c(b"123456789") == 0xE3069283``)."""
    return int(_crc32c_all([data])[0])


def masked_crc32c(data: bytes) -> int:
    return int(_mask(_crc32c_all([data]))[0])


def records(payloads: list[bytes]) -> bytes:
    """``payloads`` framed as consecutive TFRecords."""
    headers = [len(payload).to_bytes(8, "little") for payload in payloads]
    checksums = _mask(_crc32c_all(headers + payloads)).astype("<u4").tobytes()
    n = len(payloads)
    parts = []
    for i, (header, payload) in enumerate(zip(headers, payloads)):
        header_crc = checksums[4 * i : 4 * i + 4]
        payload_crc = checksums[4 * (n + i) : 4 * (n + i) + 4]
        parts += (header, header_crc, payload, payload_crc)
    return b"".join(parts)
