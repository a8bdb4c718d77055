"""Just enough PNG reading to check a QR code image: 1-bit greyscale, filters None and Up
(what segno writes). Keeps the tests free of an imaging library."""
from __future__ import annotations

import struct
import zlib


def read_bilevel_png(data: bytes) -> list[list[bool]]:
    """Rows of pixels, True where dark."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, chunk = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = chunk
        elif kind == b"IDAT":
            idat += chunk
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert (depth, colour) == (1, 0), "expected 1-bit greyscale"
    stride = (width + 7) // 8
    raw = zlib.decompress(idat)
    rows: list[list[bool]] = []
    previous = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        assert kind in (0, 2), f"unsupported PNG filter {kind}"
        if kind == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, previous))
        previous = bytes(line)
        rows.append([not (line[x // 8] >> (7 - x % 8)) & 1 for x in range(width)])
    return rows


def modules(pixels: list[list[bool]], *, scale: int, border: int) -> list[list[bool]]:
    """Sample the centre of each module; checks that the quiet zone is light."""
    size = len(pixels) // scale
    grid = [[pixels[r * scale + scale // 2][c * scale + scale // 2] for c in range(size)] for r in range(size)]
    for i in range(size):
        for j in range(border):
            assert not grid[i][j] and not grid[j][i] and not grid[i][-1 - j] and not grid[-1 - j][i]
    return [row[border:size - border] for row in grid[border:size - border]]
