#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/): small
valid inputs from which the fuzzer mutates. Each input starts with the target's
mode byte (fuzz/targets.hpp). Run from anywhere: python3 fuzz/make_seeds.py"""

import gzip
import os
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "scripts"))
import torch_weights as kw  # noqa: E402  (its kiln side needs no torch)


def idx(dims, values, type_byte=0x08):
    return bytes([0, 0, type_byte, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + \
        bytes(values)


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def write(target, name, data):
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def main():
    # IDX: mode 0 reads one file.
    labels = idx([6], [0, 1, 2, 3, 9, 5])
    matrix = idx([2, 3], [0, 255, 7, 1, 2, 3])
    write("idx_reader", "labels", b"\0" + labels)
    write("idx_reader", "matrix", b"\0" + matrix)
    write("idx_reader", "labels_gz", b"\0" + gzip.compress(labels, mtime=0))
    write("idx_reader", "rank4", b"\0" + idx([1, 2, 1, 2], [1, 2, 3, 4]))
    # Mode 1: an images file and a labels file, cut at the second byte's share.
    images = idx([2, 28, 28], [(i * 7) % 256 for i in range(2 * 784)])
    pair = gzip.compress(images, mtime=0) + idx([2], [3, 7])
    cut = len(gzip.compress(images, mtime=0))
    write("idx_reader", "pair_gz", bytes([1, 255 * cut // (len(pair))]) + pair)

    # Checkpoints of fuzz/targets.hpp's tiny_mlp: a model, and a whole training state.
    sizes = [(4, 3), (3, 2)]
    layers = [([[0.1 * (o + 1) - 0.05 * i for i in range(4)] for o in range(3)], [0.0, 0.1, -0.1]),
              ([[0.2, -0.3, 0.4], [-0.1, 0.5, 0.05]], [0.01, -0.02])]
    layers = [([[f32(v) for v in row] for row in w], [f32(v) for v in b]) for w, b in layers]
    model = kw.mlp_checkpoint(None, layers)
    write("checkpoint_loader", "model", b"\0" + model)
    header, sections = kw.decode_checkpoint(model)
    storage = header["storage_size"]
    training = kw.encode_checkpoint(
        header["signature"], kw.FLOAT32, header["param_count"], storage,
        [("parameters", kw.FLOAT32, sections["parameters"][1]),
         ("optimizer", kw.TEXT, b"sgd"),
         ("sgd.settings", kw.FLOAT64, [f32(0.01), f32(0.9)]),
         ("sgd.velocity", kw.FLOAT32, [0.0] * storage),
         ("rng", kw.UINT64, [1, 2, 3, 4]),
         ("early_stopping.counts", kw.UINT64, [3, 1, 2, 1]),
         ("early_stopping.best_score", kw.FLOAT64, [0.5])])
    write("checkpoint_loader", "training", b"\0" + training)
    write("checkpoint_loader", "training_repaired", b"\1" + training)
    # The same with the fingerprint of the data the target trains on (its batch x, y).
    x = [0.5, -1.0, 2.0, 0.25, 1.0, 0.0, -0.5, 3.0]
    fingerprint = [2, zlib.crc32(struct.pack("<8f", *x)), zlib.crc32(struct.pack("<2i", 0, 1))]
    header_and_sections = kw.decode_checkpoint(training)[1]
    with_data = kw.encode_checkpoint(
        header["signature"], kw.FLOAT32, header["param_count"], storage,
        [(name, element, values) for name, (element, values) in header_and_sections.items()] +
        [("data.train", kw.UINT64, fingerprint)])
    write("checkpoint_loader", "training_with_data", b"\0" + with_data)

    # Results files: the first byte cuts the rest into a key and a string (fuzz/targets.hpp).
    write("results_json", "sample", b"\x40" + b"key" + b"To be, or not to be\n\"quoted\" \\ end")
    write("results_json", "control", b"\x80" + bytes(range(0, 32)) + b"\x7f")
    write("results_json", "not_utf8", b"\x10" + "café €".encode() + b"\xc3\x28\xa0\xff\xe2\x82")
    write("results_json", "numbers", b"\x00" + struct.pack("<5d", 1.0, -0.0, 1e-310, 2.0**53,
                                                            0.1) +
          struct.pack("<Q", 0x7ff8000000000001))
    assert kw.parse_signature(header["signature"])[1] == sizes


if __name__ == "__main__":
    main()
