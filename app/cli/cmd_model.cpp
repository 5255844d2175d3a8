// `llmwb model inspect` and `llmwb model init`: look inside a Hugging Face model folder
// without allocating the model (the checkpoint headers give names, shapes and dtypes), and
// make a random-weight folder from a config with transformers' initializer ranges, so tests
// and scaling sweeps can build models of any size.
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "app/cli/command.h"
#include "engine/core/rng.h"
#include "engine/io/checkpoint.h"
#include "engine/io/hf_config.h"
#include "engine/models/bert.h"
#include "engine/models/gpt.h"
#include "engine/models/llama.h"
#include "engine/models/model.h"
#include "engine/tokenize/tokenizer.h"

namespace {

using Json = nlohmann::ordered_json;
constexpr const char* kCmd = "model";

const char* kUsage =
    "Usage: llmwb model inspect PATH [--json]\n"
    "       llmwb model init --arch bert|gpt2|llama --config FILE.json --out DIR [--seed N] "
    "[--json]\n"
    "\n"
    "inspect  reads a Hugging Face model folder (config.json + model.safetensors or shards):\n"
    "         architecture, config, parameter count, dtypes, every tensor (name, shape, dtype),\n"
    "         and the tokenizer kind and vocabulary size when the folder has tokenizer files.\n"
    "init     builds a random-weight model from FILE.json (a config.json; architectures and\n"
    "         model_type are filled in from --arch when absent; for llama, model_type mistral\n"
    "         or qwen2 picks those) with transformers' initialization: normal(0,\n"
    "         initializer_range) for linear and embedding weights (GPT-2's c_proj scaled by\n"
    "         1/sqrt(2 n_layer), the padding row zero), zero biases, norm weights one. DIR must\n"
    "         not exist; it is written completely or not at all.\n"
    "\n"
    "  --seed N   random seed (default 0)\n"
    "  --json     one JSON document on stdout\n"
    "\n"
    "Errors go to stderr; the exit code is 1 on failure, 2 on a usage error.";

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// Validates the config with its family's reader (no allocation) and names the family.
lw::Result<std::string> check_config(const lw::io::HfConfig& hf) {
  const std::string arch = hf.architecture(), type = hf.model_type();
  if (lw::models::is_llama_family(arch, type)) {
    LW_TRY(lw::models::LlamaConfig::from_hf(hf).status());
    return type.empty() ? std::string("llama") : type;
  }
  if (arch.rfind("GPT2", 0) == 0 || (arch.empty() && type == "gpt2")) {
    LW_TRY(lw::models::GptConfig::from_hf(hf).status());
    return std::string("gpt2");
  }
  if (arch.rfind("Bert", 0) == 0 || (arch.empty() && type == "bert")) {
    LW_TRY(lw::models::BertConfig::from_hf(hf).status());
    return std::string("bert");
  }
  return lw::unsupported(hf.source() + ": architecture '" + arch + "' (model_type '" + type +
                         "') is not supported");
}

bool has_tokenizer_files(const std::string& dir) {
  for (const char* f : {"tokenizer.json", "vocab.json", "vocab.txt", "tokenizer.model"})
    if (exists(dir + "/" + f)) return true;
  return false;
}

int run_inspect(const std::string& dir, bool json) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return lwcli::fail(kCmd,
                       dir + ": not a model folder (expected config.json and safetensors weights)");
  auto hf = lw::io::HfConfig::read(dir + "/config.json");
  if (!hf.is_ok()) return lwcli::fail(kCmd, hf.status().to_string());
  auto family = check_config(*hf);
  auto ckpt = lw::io::Checkpoint::open(dir);
  if (!ckpt.is_ok()) return lwcli::fail(kCmd, ckpt.status().to_string());
  Json tensors = Json::array();
  std::map<std::string, int64_t> dtypes;  // dtype -> parameter count
  int64_t params = 0;
  for (const auto& name : ckpt->names()) {
    const auto* t = ckpt->find(name);
    const char* dt = lw::io::st_dtype_name(t->info->dtype);
    tensors.push_back({{"name", name}, {"shape", t->info->shape}, {"dtype", dt}});
    dtypes[dt] += t->info->numel;
    params += t->info->numel;
  }
  Json tok = nullptr;
  if (has_tokenizer_files(dir)) {
    auto t = lw::load_tokenizer(dir);
    if (!t.is_ok()) return lwcli::fail(kCmd, t.status().to_string());
    tok = {{"kind", lw::tokenizer_kind_name((*t)->kind())},
           {"vocab_size", (*t)->vocab_size()},
           {"describe", (*t)->describe()}};
  }
  Json j = {{"path", dir},
            {"architecture", hf->architecture()},
            {"model_type", hf->model_type()},
            {"family", family.is_ok() ? Json(*family) : Json(nullptr)},
            {"supported", family.is_ok()},
            {"config", Json::parse(hf->dump())},
            {"parameters", params},
            {"dtypes", dtypes},
            {"tensors", tensors},
            {"tokenizer", tok}};
  if (!family.is_ok()) j["unsupported_reason"] = family.status().message();
  if (json) {
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("architecture  %s (model_type %s)%s\n", hf->architecture().c_str(),
              hf->model_type().c_str(), family.is_ok() ? "" : "  [not supported]");
  if (!family.is_ok()) std::printf("              %s\n", family.status().message().c_str());
  std::printf("parameters    %lld\n", static_cast<long long>(params));
  for (const auto& [dt, n] : dtypes)
    std::printf("dtype         %s: %lld\n", dt.c_str(), static_cast<long long>(n));
  if (tok.is_null())
    std::printf("tokenizer     none\n");
  else
    std::printf("tokenizer     %s, vocabulary %d\n", tok["kind"].get<std::string>().c_str(),
                tok["vocab_size"].get<int>());
  std::printf("tensors       %zu\n", tensors.size());
  for (const auto& t : tensors) {
    std::string shape;
    for (const auto& d : t["shape"])
      shape += (shape.empty() ? "" : ", ") + std::to_string(d.get<int64_t>());
    std::printf("  %-60s [%s] %s\n", t["name"].get<std::string>().c_str(), shape.c_str(),
                t["dtype"].get<std::string>().c_str());
  }
  return 0;
}

// Fills architectures / model_type from --arch where the config leaves them out, and
// refuses a config that names another family.
lw::Result<std::string> complete_config(const std::string& path, const std::string& arch) {
  LW_ASSIGN_OR_RETURN(lw::io::HfConfig hf, lw::io::HfConfig::read(path));
  Json j = Json::parse(hf.dump());
  std::string type = hf.model_type(), a = hf.architecture();
  if (arch == "llama") {
    if (type.empty()) type = "llama";
    if (type != "llama" && type != "mistral" && type != "qwen2")
      return lw::invalid_argument(path + ": model_type '" + type +
                                  "' is not of --arch llama (llama, mistral, qwen2)");
    if (a.empty())
      a = type == "mistral" ? "MistralForCausalLM"
          : type == "qwen2" ? "Qwen2ForCausalLM"
                            : "LlamaForCausalLM";
    if (!lw::models::is_llama_family(a, type))
      return lw::invalid_argument(path + ": architecture '" + a + "' is not of --arch llama");
  } else {
    const std::string prefix = arch == "bert" ? "Bert" : "GPT2";
    if (type.empty()) type = arch;
    if (type != arch)
      return lw::invalid_argument(path + ": model_type '" + type + "' does not match --arch " +
                                  arch);
    if (a.empty()) a = arch == "bert" ? "BertForMaskedLM" : "GPT2LMHeadModel";
    if (a.rfind(prefix, 0) != 0)
      return lw::invalid_argument(path + ": architecture '" + a + "' does not match --arch " +
                                  arch);
  }
  j["architectures"] = {a};
  j["model_type"] = type;
  return j.dump(2);
}

// transformers' _init_weights, by tensor role.
lw::Status init_weights(lw::models::Model& model, const lw::io::HfConfig& hf,
                        const std::string& arch, uint64_t seed) {
  LW_ASSIGN_OR_RETURN(double range, hf.get_double({"initializer_range"}, 0, 10, 0.02));
  LW_ASSIGN_OR_RETURN(int64_t n_layer, hf.get_int({"n_layer", "num_hidden_layers"}, 1, 1024));
  // BertConfig's pad_token_id defaults to 0 (and the written config.json says 0); the
  // LLaMA family has none unless the config names one.
  LW_ASSIGN_OR_RETURN(int64_t pad, hf.get_int({"pad_token_id"}, -1, int64_t(1) << 40, arch == "bert" ? 0 : -1));
  lw::PhiloxStream rng(seed);
  for (auto& p : model.params()) {
    const auto& s = p.spec;
    std::vector<float> v(static_cast<size_t>(lw::shape_numel(s.shape)), 0.0f);
    using lw::models::Role;
    if (s.role == Role::kNormWeight) {
      std::fill(v.begin(), v.end(), 1.0f);
    } else if (s.role == Role::kEmbedding || s.role == Role::kWeight) {
      const std::string hfn = s.hf_names.empty() ? "" : s.hf_names[0];
      double std = range;
      if (arch == "gpt2" && hfn.size() >= 13 &&
          hfn.compare(hfn.size() - 13, 13, "c_proj.weight") == 0)
        std /= std::sqrt(2.0 * double(n_layer));
      for (auto& x : v) x = static_cast<float>(std * rng.normal());
      // nn.Embedding(padding_idx): BERT's and LLaMA's word embeddings keep the pad row zero.
      bool word_embedding = hfn.find("word_embeddings") != std::string::npos ||
                            hfn.find("embed_tokens") != std::string::npos;
      if (word_embedding && pad >= 0 && pad < s.shape[0])
        std::fill(v.begin() + pad * s.shape[1], v.begin() + (pad + 1) * s.shape[1], 0.0f);
    }
    LW_ASSIGN_OR_RETURN(lw::Tensor t,
                        lw::Tensor::from_floats(v, s.shape, lw::DType::kF32, model.device()));
    LW_TRY(p.weights().copy_from(t));
    if (p.master.defined()) LW_TRY(p.value.copy_from(t));
  }
  return lw::Status::ok();
}

int run_init(const lwcli::Args& args) {
  for (const char* req : {"arch", "config", "out"})
    if (!args.has(req)) return lwcli::usage_error(kCmd, std::string("init needs --") + req);
  const std::string arch = args.get("arch"), out = args.get("out");
  if (arch != "bert" && arch != "gpt2" && arch != "llama")
    return lwcli::usage_error(kCmd, "--arch must be bert, gpt2 or llama, got '" + arch + "'");
  long long seed = 0;
  std::string error;
  if (!args.get_int("seed", 0, &seed, &error)) return lwcli::usage_error(kCmd, error);
  if (exists(out))
    return lwcli::fail(kCmd, out + ": already exists (init never overwrites a folder)");
  auto text = complete_config(args.get("config"), arch);
  if (!text.is_ok()) return lwcli::fail(kCmd, text.status().to_string());
  auto hf = lw::io::HfConfig::parse(args.get("config"), *text);
  if (!hf.is_ok()) return lwcli::fail(kCmd, hf.status().to_string());
  auto model = lw::models::create_model(*hf, {});
  if (!model.is_ok()) return lwcli::fail(kCmd, model.status().to_string());
  auto st = init_weights(**model, *hf, arch, static_cast<uint64_t>(seed));
  // Model::save writes beside DIR and renames: a crash leaves no half-written model folder.
  if (st.is_ok()) st = (*model)->save(out);
  if (!st.is_ok()) {
    return lwcli::fail(kCmd, st.to_string());
  }
  Json j = {{"out", out},
            {"architecture", (*model)->architecture()},
            {"parameters", (*model)->num_parameters()},
            {"seed", seed}};
  if (args.has("json"))
    std::printf("%s\n", j.dump(2).c_str());
  else
    std::printf("wrote %s: %s, %lld parameters\n", out.c_str(), (*model)->architecture().c_str(),
                static_cast<long long>((*model)->num_parameters()));
  return 0;
}

int run_model(const std::vector<std::string>& argv) {
  lwcli::Args args;
  std::string error;
  if (!args.parse(argv, {"json"}, &error)) return lwcli::usage_error(kCmd, error);
  const auto& pos = args.positional();
  if (pos.empty()) return lwcli::usage_error(kCmd, "expected a subcommand: inspect or init");
  if (pos[0] == "inspect") {
    if (auto bad = args.unknown({"json"}); !bad.empty())
      return lwcli::usage_error(kCmd, "unknown option --" + bad.front());
    if (pos.size() != 2) return lwcli::usage_error(kCmd, "inspect takes one PATH");
    return run_inspect(pos[1], args.has("json"));
  }
  if (pos[0] == "init") {
    if (auto bad = args.unknown({"arch", "config", "out", "seed", "json"}); !bad.empty())
      return lwcli::usage_error(kCmd, "unknown option --" + bad.front());
    if (pos.size() != 1) return lwcli::usage_error(kCmd, "unexpected argument '" + pos[1] + "'");
    return run_init(args);
  }
  return lwcli::usage_error(kCmd, "unknown subcommand '" + pos[0] + "' (inspect, init)");
}

const lwcli::CommandRegistration kRegistration(
    {kCmd, "inspect a model folder, or init a random-weight one", kUsage, run_model});

}  // namespace
