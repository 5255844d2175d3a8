#!/usr/bin/env python3
"""Golden tokenizer ids from the reference libraries (tokenizers, sentencepiece).

Runs on the GPU machine (no network): the real vocabularies do not travel with
the repository, so the tokenizer folder is an argument. Writes one JSON file per
tokenizer into the output folder; tests/engine/tokenize compares our ids,
offsets and decode strings against them.

  python3 tests/golden/make_tokenizer_golden.py --tokenizers DIR \
      [--corpus tests/golden/tokenizers/corpus.txt] [--out tests/golden/tokenizers]

DIR holds gpt2/{vocab.json,merges.txt}, bert-base-uncased/vocab.txt and
llama2/{tokenizer.json,tokenizer.model} (a copy of shared/data/tokenizers).
Offsets are character offsets (Python string indices) for the HF tokenizers and
UTF-8 byte offsets (as the library reports them) for sentencepiece.
"""
import argparse
import json
import os
import sys


def read_corpus(path):
    """One sample per line; '#' lines are comments; a line starting with '"' is a JSON string."""
    samples = []
    with open(path, encoding="utf-8") as f:
        for line in f.read().split("\n")[:-1]:
            if line.startswith("#"):
                continue
            samples.append(json.loads(line) if line.startswith('"') else line)
    return samples


def extra_samples():
    """Long inputs that would bloat the corpus file: they exercise the no-quadratic paths."""
    return [
        "lorem ipsum dolor sit amet " * 200,
        "z" * 3000,
        "ab" * 1500 + " " + "🤗" * 100,
    ]


def hf_record(tok, text, pair_text=None):
    enc = tok.encode(text, pair_text, add_special_tokens=True) if pair_text is not None \
        else tok.encode(text, add_special_tokens=True)
    plain = tok.encode(text, add_special_tokens=False)
    rec = {
        "text": text,
        "ids": enc.ids,
        "tokens": enc.tokens,
        "offsets": [list(o) for o in enc.offsets],
        "ids_no_special": plain.ids,
        "offsets_no_special": [list(o) for o in plain.offsets],
        "decode": tok.decode(enc.ids, skip_special_tokens=True),
        "decode_keep_special": tok.decode(enc.ids, skip_special_tokens=False),
    }
    if pair_text is not None:
        rec["pair"] = pair_text
        rec["type_ids"] = enc.type_ids
    return rec


def make_gpt2(folder):
    from tokenizers import Tokenizer, decoders, pre_tokenizers, processors
    from tokenizers.models import BPE
    # The same pipeline transformers' GPT2Converter builds from vocab.json + merges.txt.
    model = BPE.from_file(os.path.join(folder, "vocab.json"), os.path.join(folder, "merges.txt"),
                          continuing_subword_prefix="", end_of_word_suffix="", fuse_unk=False)
    tok = Tokenizer(model)
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.add_special_tokens(["<|endoftext|>"])
    return tok


def make_bert(folder):
    from tokenizers import BertWordPieceTokenizer
    return BertWordPieceTokenizer(os.path.join(folder, "vocab.txt"), lowercase=True)


def make_llama_json(folder):
    from tokenizers import Tokenizer
    return Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))


def hf_golden(name, tok, samples, pairs, lib_version):
    out = {"tokenizer": name, "library": "tokenizers " + lib_version, "offsets": "chars",
           "samples": [hf_record(tok, s) for s in samples]}
    if pairs:
        out["pairs"] = [hf_record(tok, a, b) for a, b in zip(samples[:-1:2], samples[1::2])]
    return out


def sp_pieces(sp, text):
    """Pieces with id, piece, begin, end; works across sentencepiece releases
    (0.2.x removed out_type='immutable_proto'; the serialized proto is stable)."""
    from sentencepiece import sentencepiece_pb2
    spt = sentencepiece_pb2.SentencePieceText()
    spt.ParseFromString(sp.encode_as_serialized_proto(text))
    return spt


def sp_golden(folder, samples):
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=os.path.join(folder, "tokenizer.model"))
    recs = []
    for s in samples:
        proto = sp_pieces(sp, s)
        ids = [p.id for p in proto.pieces]
        recs.append({
            "text": s,
            "ids": [sp.bos_id()] + ids,
            "ids_no_special": ids,
            "tokens": [p.piece for p in proto.pieces],
            "byte_offsets_no_special": [[p.begin, p.end] for p in proto.pieces],
            "decode": sp.decode(ids),
        })
    return {"tokenizer": "llama2 tokenizer.model", "library": "sentencepiece " + spm.__version__,
            "offsets": "bytes", "bos_id": sp.bos_id(), "eos_id": sp.eos_id(), "unk_id": sp.unk_id(),
            "vocab_size": sp.get_piece_size(), "samples": recs}


def write(out_dir, name, data):
    path = os.path.join(out_dir, name)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=True, indent=None, separators=(",", ":"))
        f.write("\n")
    print("wrote", path, len(data["samples"]), "samples")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tokenizers", required=True, help="folder with gpt2/, bert-base-uncased/, llama2/")
    ap.add_argument("--corpus", default=os.path.join(here, "tokenizers", "corpus.txt"))
    ap.add_argument("--out", default=os.path.join(here, "tokenizers"))
    args = ap.parse_args()

    import tokenizers
    samples = read_corpus(args.corpus) + extra_samples()
    os.makedirs(args.out, exist_ok=True)
    root = args.tokenizers
    write(args.out, "gpt2.json",
          hf_golden("gpt2 vocab.json+merges.txt", make_gpt2(os.path.join(root, "gpt2")), samples,
                    False, tokenizers.__version__))
    write(args.out, "bert-base-uncased.json",
          hf_golden("bert-base-uncased vocab.txt", make_bert(os.path.join(root, "bert-base-uncased")),
                    samples, True, tokenizers.__version__))
    write(args.out, "llama2-json.json",
          hf_golden("llama2 tokenizer.json", make_llama_json(os.path.join(root, "llama2")), samples,
                    False, tokenizers.__version__))
    write(args.out, "llama2-sp.json", sp_golden(os.path.join(root, "llama2"), samples))
    return 0


if __name__ == "__main__":
    sys.exit(main())
