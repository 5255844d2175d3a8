#!/usr/bin/env python3
# Makes the bad safetensors / checkpoint / config.json fixtures in this folder and
# expected.json (file, kind, the error substring our reader must produce). Standard library
# only; rerun with `python3 tests/data/bad/io/make_bad.py` after changing a case.
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
cases = []


def st_bytes(header, data=b"", length=None, raw_header=None):
    h = raw_header if raw_header is not None else json.dumps(header).encode()
    n = len(h) if length is None else length
    return struct.pack("<Q", n) + h + data


def put(name, content, kind, error):
    path = os.path.join(HERE, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(content if isinstance(content, bytes) else content.encode())
    if kind:
        cases.append({"file": name, "kind": kind, "error": error})


ok_header = {"a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}
put("header_too_long.safetensors", st_bytes(ok_header, b"\0" * 16, length=1000),
    "safetensors", "header length 1000 exceeds the file size")
put("header_len_max.safetensors", st_bytes(ok_header, b"\0" * 16, length=2**64 - 1),
    "safetensors", "header length 18446744073709551615 exceeds the file size")
put("tiny.safetensors", b"\x01\x02\x03", "safetensors", "too small for a safetensors header")
put("overlap.safetensors", st_bytes({
    "a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
    "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}}, b"\0" * 24),
    "safetensors", "overlap")
put("out_of_range.safetensors", st_bytes({
    "a": {"dtype": "F32", "shape": [4], "data_offsets": [1000, 1016]}}, b"\0" * 16),
    "safetensors", "out of range")
put("shape_mismatch.safetensors", st_bytes({
    "a": {"dtype": "F32", "shape": [3, 3], "data_offsets": [0, 16]}}, b"\0" * 16),
    "safetensors", "byte length 16 does not match shape [3,3] x F32 (36 bytes)")
put("truncated.safetensors", st_bytes({
    "a": {"dtype": "F32", "shape": [64], "data_offsets": [0, 256]}}, b"\0" * 100),
    "safetensors", "truncated file?")
put("lfs_pointer.safetensors",
    "version https://git-lfs.github.com/spec/v1\n"
    "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
    "size 548105171\n", "safetensors", "is a Git LFS pointer, not the weights")
put("not_json.safetensors", st_bytes(None, b"", raw_header=b"{\"a\": {\"dtype\": "),
    "safetensors", "header: not valid JSON")
put("unknown_dtype.safetensors", st_bytes({
    "a": {"dtype": "F33", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 16),
    "safetensors", "unknown dtype 'F33'")
put("numel_overflow.safetensors", st_bytes({
    "a": {"dtype": "F32", "shape": [2**40, 2**40], "data_offsets": [0, 16]}}, b"\0" * 16),
    "safetensors", "overflows the element count")
put("deep_nesting.safetensors", st_bytes(None, b"", raw_header=b"[" * 5000 + b"]" * 5000),
    "safetensors", "nests deeper than 32 levels")
put("negative_dim.safetensors", st_bytes({
    "a": {"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}}, b"\0" * 16),
    "safetensors", "shape entries must be non-negative integers")
put("begin_after_end.safetensors", st_bytes({
    "a": {"dtype": "F32", "shape": [0], "data_offsets": [16, 8]}}, b"\0" * 16),
    "safetensors", "data_offsets begin 16 > end 8")
put("header_not_object.safetensors", st_bytes([1, 2]), "safetensors",
    "header is not a JSON object")
put("metadata_not_string.safetensors", st_bytes({"__metadata__": {"format": 3}}),
    "safetensors", "__metadata__ value 'format' is not a string")

put("shard_escape/model.safetensors.index.json",
    json.dumps({"metadata": {}, "weight_map": {"w": "../../outside.safetensors"}}),
    "checkpoint", "points outside the folder")
put("shard_absolute/model.safetensors.index.json",
    json.dumps({"weight_map": {"w": "/etc/passwd"}}), "checkpoint", "points outside the folder")

put("config_not_json/config.json", '{"model_type": "gpt2", "n_layer": 2,,}', "config",
    "not valid JSON")
put("config_deep/config.json", '{"a": ' + "[" * 10000 + "]" * 10000 + "}", "config",
    "nests deeper than 32 levels")
put("config_array/config.json", "[1, 2, 3]", "config", "top level is not a JSON object")

with open(os.path.join(HERE, "expected.json"), "w") as f:
    json.dump(cases, f, indent=1)
print(f"{len(cases)} bad io fixtures written")
