#!/usr/bin/env python3
# Writes the bad dataset fixtures and expected.json (file, kind, options, the line the error
# must name, and a substring of the message). Run from this folder; the outputs are
# committed. The 10 MB single line is made by the test itself, not stored.
import json

cases = []

def add(name, data, kind, line, error, **opts):
    with open(name, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    case = {"file": name, "kind": kind, "line": line, "error": error}
    case.update(opts)
    cases.append(case)

tsv_ok = "text\tlabel\nplay some jazz\tPlayMusic\nwill it rain\tGetWeather\n"
conll_ok = "EU\tB-ORG\nrejects\tO\nGerman\tB-MISC\ncall\tO\n\nPeter\tB-PER\nBlackburn\tI-PER\n"

add("wrong_columns.tsv", tsv_ok + "book a table\tBookRestaurant\textra\n", "classify", 4,
    "expected 2 columns (as in the header on line 1), found 3")
add("wrong_columns.csv", "text,label\n\"a, b\",x\n\"c\",y,z\n", "classify", 3,
    "expected 2 columns (as in the header on line 1), found 3")
add("missing_column.tsv", "sentence\ttarget\nhello\t1\n", "classify", 1,
    "no column named 'text' in the header (columns: sentence, target)")
add("index_out_of_range.txt", "great phone\t1\nbad\t0\n", "classify", 1,
    "column #2 does not exist (the file has 2 columns)", text_col="0", label_col="2")
add("empty.tsv", "", "classify", 0, "the file is empty")
add("only_header.tsv", "text\tlabel\n", "classify", 0, "no examples")
add("empty_label.tsv", tsv_ok + "book a table\t\n", "classify", 4, "the label column 'label' is empty")
add("empty_text.csv", "text,label\n,spam\n", "classify", 2, "the text column 'text' is empty")
add("invalid_utf8.tsv", tsv_ok.encode() + b"caf\xc3 au lait\tPlayMusic\n", "classify", 4,
    "invalid UTF-8 at byte column 4")
add("overlong_utf8.tsv", tsv_ok.encode() + b"slash \xc0\xaf\tPlayMusic\n", "classify", 4,
    "invalid UTF-8 at byte column 7")
add("nul_byte.tsv", tsv_ok.encode() + b"a\x00b\tPlayMusic\n", "classify", 4,
    "NUL byte at byte column 2")
add("unclosed_quote.csv", "text,label\n\"fine\",a\n\"never closed,b\nmore text,c\n", "classify", 3,
    "quoted field opened on this line is not closed by the end of the file")
add("after_quote.csv", "text,label\n\"quoted\"tail,a\n", "classify", 2,
    "unexpected character after a closing quote at byte column 9")
add("bad_json.jsonl", '{"text": "ok", "label": "a"}\n{"text": "broken", "label": }\n', "classify", 2,
    "not valid JSON")
add("not_object.jsonl", '{"text": "ok", "label": "a"}\n["text", "a"]\n', "classify", 2,
    "expected a JSON object, got array")
add("missing_field.jsonl", '{"text": "ok", "label": "a"}\n{"text": "no label", "tag": "b"}\n', "classify", 2,
    "field 'label' is missing (fields: tag, text)")
add("float_label.jsonl", '{"text": "ok", "label": 1}\n{"text": "half", "label": 1.5}\n', "classify", 2,
    "field 'label' must be a string or an integer, got 1.5")
add("deep.jsonl", '{"text": "ok", "label": "a"}\n' + "[" * 100 + "]" * 100 + "\n", "classify", 2,
    "JSON nested deeper than 64 levels")
add("unknown_extension.dat", "a\tb\n", "classify", 0, "cannot tell the format from the extension")
add("train_labels.tsv", tsv_ok, "none", 0, "")
add("unknown_label_dev.tsv", "text\tlabel\nplay it\tPlayMusic\nfind a movie\tSearchMovie\n",
    "classify_dev", 3, "label 'SearchMovie' is not in the label map of the training data (GetWeather, PlayMusic)",
    train="train_labels.tsv")

add("wrong_columns.conll", conll_ok + "to\tO\textra\n", "ner", 8, "expected 2 columns (as on line 1), found 3")
add("one_column.conll", "EU\nrejects\n", "ner", 1, "expected at least 2 columns (token and tag), found 1")
add("tag_col_missing.conll", conll_ok, "ner", 1, "tag column #3 does not exist (the line has 2 columns)",
    tag_col=3)
add("invalid_tag.conll", conll_ok + "\nJohn\tPERSON\n", "ner", 9,
    "tag 'PERSON' is not a valid IOB2 tag (expected O, B-<type> or I-<type>)")
add("bilou_tag.conll", "John\tU-PER\n", "ner", 1, "tag 'U-PER' is not a valid IOB2 tag")
add("i_without_b.conll", conll_ok + "\nthe\tO\nUnited\tI-LOC\n", "ner", 10,
    "tag 'I-LOC' follows 'O'; in IOB2 an entity starts with B-LOC")
add("type_change.conll", "New\tB-LOC\nYork\tI-ORG\n", "ner", 2,
    "tag 'I-ORG' follows 'B-LOC'")
add("bioes_unclosed.conll", "in\tO\nNew\tB-LOC\nYork\tI-LOC\n.\tO\n", "ner", 3,
    "entity tag 'I-LOC' is not closed: in BIOES it must be followed by I-LOC or E-LOC", scheme="bioes")
add("bioes_e_alone.conll", "in\tO\nYork\tE-LOC\n", "ner", 2,
    "tag 'E-LOC' follows 'O'; in BIOES an entity starts with S-LOC")
add("empty.conll", "", "ner", 0, "the file is empty")
add("docstart_only.conll", "-DOCSTART- -X- -X- O\n\n\n", "ner", 0, "no sentences")
add("empty_tag.conll", "EU\tB-ORG\nrejects\t \n", "ner", 2, "the tag is empty")
add("invalid_utf8.conll", conll_ok.encode() + b"\nM\xfcller\tB-PER\n", "ner", 9,
    "invalid UTF-8 at byte column 2")
add("train_tags.conll", conll_ok, "none", 0, "")
add("unknown_tag_dev.conll", "Paris\tB-ORG\nis\tO\n\nAspirin\tB-Chemical\n", "ner_dev", 4,
    "tag 'B-Chemical' is not in the label map of the training data", train="train_tags.conll")

add("label_map_gap.json", '{"id2label": {"0": "neg", "2": "pos"}}', "label_map", 0,
    "id2label key '2' is not an id in [0, 2)")
add("label_map_mismatch.json", '{"id2label": {"0": "neg", "1": "pos"}, "label2id": {"neg": 1, "pos": 0}}',
    "label_map", 0, "label2id['neg'] does not match id2label")
add("label_map_none.json", '{"model_type": "bert"}', "label_map", 0,
    "neither 'id2label' nor 'label2id' is present")

with open("expected.json", "w") as f:
    json.dump([c for c in cases if c["kind"] != "none"], f, indent=1)
    f.write("\n")
