#!/usr/bin/env python3
"""Writes the binary seed files of Corpus/ (the YAML seeds are written by hand).

    python3 Fuzz/make_seeds.py [FOLDER]     default: Fuzz/Corpus

JPEG seeds need cjpeg (Debian's libjpeg-turbo-progs); without it they are left as they are.
"""
import gzip
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "Corpus")


def write(relative, data):
    path = os.path.join(out, relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def idx(sizes, payload):
    """Magic 00 00 08 D, big-endian sizes, payload."""
    return bytes([0, 0, 8, len(sizes)]) + b"".join(struct.pack(">I", s) for s in sizes) + bytes(payload)


images = idx([2, 3, 3], [(i * 7) % 256 for i in range(18)])
labels = idx([2], [3, 7])
write("idx/images-2x3x3", images)
write("idx/labels-2", labels)
write("idx/images-2x3x3.gz", gzip.compress(images, mtime=0))
write("idx/labels-2.gz", gzip.compress(labels, mtime=0))
write("idx/images-1x28x28.gz", gzip.compress(idx([1, 28, 28], [(p * 3) % 256 for p in range(784)]), mtime=0))
write("idx/images-2-members.gz", gzip.compress(images[:10], mtime=0) + gzip.compress(images[10:], mtime=0))

# CIFAR-10: 1 label byte; CIFAR-100: coarse and fine label bytes; then 3×32×32 pixels.
write("cifar/cifar10-1-record", bytes([4]) + bytes((i * 5) % 256 for i in range(3072)))
write("cifar/cifar100-1-record", bytes([11, 42]) + bytes((i * 3) % 256 for i in range(3072)))

# Prepared Tiny-ImageNet as the target reads it: UInt16 big-endian length of wnids.txt, the file,
# then records of 1 label byte + 3×64×64 pixels (used as train and test).
wnids = b"n01443537\nn01629819\nn01641577\n"
record = bytes([2]) + bytes((i * 11) % 256 for i in range(3 * 64 * 64))
write("tinyimagenet/3-wnids-1-record", struct.pack(">H", len(wnids)) + wnids + record)
write("tinyimagenet/no-wnids-1-record", struct.pack(">H", 0) + bytes([199]) + record[1:])


def checkpoint(sections):
    """"LIPSCKPT", version 1, section count, {name length, name, byte count, bytes}, CRC-32."""
    data = b"LIPSCKPT" + struct.pack("<II", 1, len(sections))
    for name, payload in sections:
        encoded = name.encode()
        data += struct.pack("<I", len(encoded)) + encoded + struct.pack("<Q", len(payload)) + payload
    return data + struct.pack("<I", zlib.crc32(data))


write("checkpoint/three-sections", checkpoint([
    ("params", struct.pack("<4f", 0.5, -1.25, 3.0, 0.0)),
    ("rng", struct.pack("<2Q", 7, 2**63 + 5)),
    ("metrics", b'{"accuracy": 0.75, "loss": 1.5}'),
]))
write("checkpoint/fp16-section", checkpoint([("grad16", struct.pack("<3H", 0x3C00, 0xBC00, 0x7BFF))]))
write("checkpoint/empty", checkpoint([]))

# PNG: some of the decoder's test fixtures (Tests/LIPSTests/Fixtures/png): palette, grey of 1 and
# 16 bits, RGB, RGBA, grey + alpha, plain and interlaced.
fixtures = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "LIPSTests", "Fixtures", "png")
for name in ["c0_d1.png", "c0_d16_i.png", "c2_d8.png", "c3_d4_i.png", "c4_d8.png", "c6_d16_i.png"]:
    with open(os.path.join(fixtures, name), "rb") as f:
        write("png/" + name, f.read())


# NumPy .npy: version 1.0 header padded to 64 bytes (as numpy.save writes), then the array.
def npy(descr, shape, payload, version=1):
    shape_text = "(" + ", ".join(map(str, shape)) + (",)" if len(shape) == 1 else ")")
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_text)
    fixed = 10 if version == 1 else 12
    header += " " * ((64 - (fixed + len(header) + 1) % 64) % 64) + "\n"
    length = struct.pack("<H", len(header)) if version == 1 else struct.pack("<I", len(header))
    return b"\x93NUMPY" + bytes([version, 0]) + length + header.encode("latin-1") + bytes(payload)


write("npy/images-nhwc", npy("|u1", (2, 3, 2, 3), range(36)))
write("npy/images-grey-v2", npy("|u1", (2, 2, 2), range(8), version=2))
write("npy/labels-int64", npy("<i8", (3,), struct.pack("<3q", 0, 2, 1)))
write("npy/labels-int32-big", npy(">i4", (2,), struct.pack(">2i", 1, 0), version=3))

# JPEG: small images in the encodings libjpeg-turbo reads.
if shutil.which("cjpeg"):
    with tempfile.TemporaryDirectory() as tmp:
        def ppm(w, h):
            path = os.path.join(tmp, f"{w}x{h}.ppm")
            pixels = bytes(((x * 4 + y) % 256, (y * 4) % 256, (x * y) % 256)[c]
                           for y in range(h) for x in range(w) for c in range(3))
            with open(path, "wb") as f:
                f.write(b"P6\n%d %d\n255\n" % (w, h) + pixels)
            return path

        def pgm(w, h):
            path = os.path.join(tmp, f"{w}x{h}.pgm")
            with open(path, "wb") as f:
                f.write(b"P5\n%d %d\n255\n" % (w, h) + bytes((x * 8 + y * 3) % 256 for y in range(h) for x in range(w)))
            return path

        for name, options, source in [
            ("rgb-64x64-baseline.jpg", ["-quality", "75"], ppm(64, 64)),
            ("rgb-16x16-progressive.jpg", ["-quality", "50", "-progressive"], ppm(16, 16)),
            ("rgb-9x7-444-restarts.jpg", ["-quality", "90", "-sample", "1x1", "-restart", "1"], ppm(9, 7)),
            ("rgb-16x16-arithmetic.jpg", ["-quality", "60", "-arithmetic"], ppm(16, 16)),
            ("grey-8x8.jpg", ["-grayscale", "-quality", "80"], pgm(8, 8)),
            ("rgb-9x7-422-optimized.jpg", ["-quality", "70", "-optimize", "-sample", "2x1"], ppm(9, 7)),
        ]:
            write("jpeg/" + name, subprocess.run(["cjpeg", *options, source], check=True, capture_output=True).stdout)
else:
    print("cjpeg not found (apt-get install libjpeg-turbo-progs): JPEG seeds left as they are", file=sys.stderr)
