#!/usr/bin/env python3
"""Writes the PNG fixtures of PNGTests (Python's standard library only: zlib and struct).

Every file is 13x11 pixels (odd sides, so Adam7's passes and the last byte of sub-byte rows are
partly filled). Sample c of pixel (x, y) holds sample(x, y, c, depth) below, the same formula
PNGTests uses to know what the decoder must give back; palette images index the palette
palette_entry(i). Rows cycle through the five filter types (row y uses filter y mod 5), so every
filter is undone by the decoder. File names: c<colour type>_d<bit depth>[_i].png, _i = Adam7.

Run from this folder: python3 make_png_fixtures.py
"""
import struct
import zlib

WIDTH, HEIGHT = 13, 11
SAMPLES = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
DEPTHS = {0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16]}
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def sample(x, y, c, depth):
    return (x * 37 + y * 11 + c * 71 + x * y * 5) % (1 << depth)


def palette_entry(i):
    return ((i * 3) % 256, (i * 5 + 17) % 256, (i * 7 + 101) % 256)


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def row_bytes(xs, y, colour, depth):
    """The packed samples of the pixels xs of row y."""
    values = [sample(x, y, c, depth) for x in xs for c in range(SAMPLES[colour])]
    if depth == 16:
        return b"".join(struct.pack(">H", v) for v in values)
    if depth == 8:
        return bytes(values)
    out, bits, count = [], 0, 0
    for v in values:
        bits = (bits << depth) | v
        count += depth
        if count == 8:
            out.append(bits)
            bits, count = 0, 0
    if count:
        out.append(bits << (8 - count))
    return bytes(out)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def filtered(raw, previous, kind, bpp):
    out = bytearray()
    for k, value in enumerate(raw):
        a = raw[k - bpp] if k >= bpp else 0
        b = previous[k]
        c = previous[k - bpp] if k >= bpp else 0
        predictor = [0, a, b, (a + b) // 2, paeth(a, b, c)][kind]
        out.append((value - predictor) % 256)
    return bytes([kind]) + bytes(out)


def image_data(colour, depth, interlaced):
    bpp = max(1, SAMPLES[colour] * depth // 8)
    passes = ADAM7 if interlaced else [(0, 0, 1, 1)]
    data, row_index = b"", 0
    for x0, y0, dx, dy in passes:
        xs = list(range(x0, WIDTH, dx))
        ys = list(range(y0, HEIGHT, dy))
        if not xs or not ys:
            continue
        previous = bytes(len(row_bytes(xs, 0, colour, depth)))
        for y in ys:
            raw = row_bytes(xs, y, colour, depth)
            data += filtered(raw, previous, row_index % 5, bpp)
            previous = raw
            row_index += 1
    return data


def write(colour, depth, interlaced):
    header = struct.pack(">IIBBBBB", WIDTH, HEIGHT, depth, colour, 0, 0, 1 if interlaced else 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
    if colour == 3:
        png += chunk(b"PLTE", b"".join(bytes(palette_entry(i)) for i in range(1 << depth)))
    png += chunk(b"tEXt", b"Comment\x00an ancillary chunk the decoder skips")
    compressed = zlib.compress(image_data(colour, depth, interlaced), 9)
    # Two IDAT chunks: the decoder must join them.
    half = len(compressed) // 2
    png += chunk(b"IDAT", compressed[:half]) + chunk(b"IDAT", compressed[half:]) + chunk(b"IEND", b"")
    name = f"c{colour}_d{depth}{'_i' if interlaced else ''}.png"
    with open(name, "wb") as f:
        f.write(png)


for colour, depths in DEPTHS.items():
    for depth in depths:
        for interlaced in (False, True):
            write(colour, depth, interlaced)
