#!/usr/bin/env python3
"""Draws favicon.ico (16 and 32 pixels, PNG inside ICO) from the same
shapes as favicon.svg: an open book on the shop's accent colour. Standard
library only; run it again after changing favicon.svg's shapes:

    python3 frontend/static/favicon.py
"""
import pathlib
import struct
import zlib

ACCENT = (0x8A, 0x2C, 0x0D)
PAPER = (0xFB, 0xFA, 0xF7)
RADIUS = 6.0
PAGES = [(6, 9, 15, 23), (17, 9, 26, 23)]  # x0, y0, x1, y1 in the 32-unit box


def inside_rounded(x, y):
    cx = min(max(x, RADIUS), 32 - RADIUS)
    cy = min(max(y, RADIUS), 32 - RADIUS)
    return (x - cx) ** 2 + (y - cy) ** 2 <= RADIUS ** 2


def pixel(px, py, size, samples=8):
    scale = 32 / size
    covered = paper = 0
    for sy in range(samples):
        for sx in range(samples):
            x = (px + (sx + 0.5) / samples) * scale
            y = (py + (sy + 0.5) / samples) * scale
            if inside_rounded(x, y):
                covered += 1
                if any(x0 <= x < x1 and y0 <= y < y1 for x0, y0, x1, y1 in PAGES):
                    paper += 1
    if covered == 0:
        return (0, 0, 0, 0)
    mix = paper / covered
    rgb = tuple(round(a * (1 - mix) + p * mix) for a, p in zip(ACCENT, PAPER))
    return rgb + (round(255 * covered / samples ** 2),)


def png(size):
    rows = b"".join(
        b"\x00" + b"".join(bytes(pixel(x, y, size)) for x in range(size)) for y in range(size)
    )
    chunk = lambda kind, data: (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    )
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def ico(sizes):
    images = [png(size) for size in sizes]
    out = struct.pack("<HHH", 0, 1, len(images))
    offset = 6 + 16 * len(images)
    for size, image in zip(sizes, images):
        out += struct.pack("<BBBBHHII", size, size, 0, 0, 1, 32, len(image), offset)
        offset += len(image)
    return out + b"".join(images)


if __name__ == "__main__":
    target = pathlib.Path(__file__).with_name("favicon.ico")
    target.write_bytes(ico([16, 32]))
    print(f"{target}: {target.stat().st_size} bytes")
