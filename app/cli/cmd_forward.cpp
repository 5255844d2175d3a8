// `llmwb forward`: one forward pass of a model folder on a batch from a safetensors file,
// writing logits, the last hidden state and attention probabilities to safetensors, so our
// outputs can be compared with transformers' (or another tool's) tensor by tensor.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "app/cli/command.h"
#include "engine/core/device.h"
#include "engine/io/checkpoint.h"
#include "engine/io/safetensors.h"
#include "engine/models/model.h"
#if LW_WITH_CUDA
#include "engine/backend/cuda/caching_allocator.h"
#endif

namespace {

constexpr const char* kCmd = "forward";

const char* kUsage =
    "Usage: llmwb forward --model DIR --inputs FILE.safetensors --out OUT.safetensors\n"
    "                     [--dump logits,hidden,attentions] [--device cpu|cuda:0]\n"
    "                     [--dtype f32|bf16] [--json]\n"
    "\n"
    "Runs the model once (no dropout) on the batch in FILE: input_ids [B,T] and optionally\n"
    "attention_mask and token_type_ids [B,T], int32 or int64. OUT (f32) holds what --dump\n"
    "names (default: logits):\n"
    "  logits      logits [B,T,V] ([B,num_labels] for sequence classification)\n"
    "  hidden      last_hidden [B,T,C], transformers' hidden_states[-1]\n"
    "  attentions  attn.<layer> [B,H,T,T], attention probabilities\n"
    "  --json      print {\"out\", \"architecture\", \"tensors\": [{name, shape}]} on stdout\n"
    "\n"
    "Errors go to stderr; the exit code is 1 on failure, 2 on a usage error.";

// One integer tensor of the inputs file as i32 [B,T] on `device`; undefined when absent.
lw::Result<lw::Tensor> read_ids(const lw::io::SafeTensorsFile& f, const std::string& name,
                                const lw::Shape* want, lw::Device device) {
  const auto* t = f.find(name);
  if (!t) return lw::Tensor{};
  const std::string where = f.path() + ": tensor '" + name + "'";
  if (t->dtype != lw::io::StDtype::kI32 && t->dtype != lw::io::StDtype::kI64)
    return lw::invalid_argument(where + " must be int32 or int64, got " +
                                lw::io::st_dtype_name(t->dtype));
  if (t->shape.size() != 2 || t->shape[0] < 1 || t->shape[1] < 1)
    return lw::invalid_argument(where + " must be [B,T], got " + lw::shape_to_string(t->shape));
  if (want && t->shape != *want)
    return lw::invalid_argument(where + " has shape " + lw::shape_to_string(t->shape) +
                                ", input_ids has " + lw::shape_to_string(*want));
  std::vector<int32_t> v(static_cast<size_t>(t->numel));
  LW_TRY(lw::io::copy_as_i32(where, t->dtype, f.data(*t), t->numel, v.data()));
  return lw::Tensor::from_ints(v, t->shape, device);
}

lw::Result<lw::models::Batch> read_batch(const std::string& path, lw::Device device) {
  LW_ASSIGN_OR_RETURN(lw::io::SafeTensorsFile f, lw::io::SafeTensorsFile::open(path));
  for (const auto& t : f.tensors())
    if (t.name != "input_ids" && t.name != "attention_mask" && t.name != "token_type_ids")
      return lw::invalid_argument(path + ": unexpected tensor '" + t.name +
                                  "' (input_ids, attention_mask, token_type_ids)");
  lw::models::Batch b;
  LW_ASSIGN_OR_RETURN(b.input_ids, read_ids(f, "input_ids", nullptr, device));
  if (!b.input_ids.defined()) return lw::invalid_argument(path + ": tensor 'input_ids' is missing");
  const lw::Shape shape = b.input_ids.shape();
  LW_ASSIGN_OR_RETURN(b.attention_mask, read_ids(f, "attention_mask", &shape, device));
  LW_ASSIGN_OR_RETURN(b.token_type_ids, read_ids(f, "token_type_ids", &shape, device));
  return b;
}

bool parse_dump(const std::string& s, std::set<std::string>* out, std::string* error) {
  std::stringstream ss(s);
  std::string part;
  while (std::getline(ss, part, ',')) {
    if (part != "logits" && part != "hidden" && part != "attentions") {
      *error = "--dump takes logits, hidden, attentions; got '" + part + "'";
      return false;
    }
    out->insert(part);
  }
  if (out->empty()) *error = "--dump names nothing";
  return !out->empty();
}

int run_forward(const std::vector<std::string>& argv) {
  lwcli::Args args;
  std::string error;
  if (!args.parse(argv, {"json"}, &error)) return lwcli::usage_error(kCmd, error);
  if (auto bad = args.unknown({"model", "inputs", "out", "dump", "device", "dtype", "json"});
      !bad.empty())
    return lwcli::usage_error(kCmd, "unknown option --" + bad.front());
  if (!args.positional().empty())
    return lwcli::usage_error(kCmd, "unexpected argument '" + args.positional().front() + "'");
  for (const char* req : {"model", "inputs", "out"})
    if (!args.has(req)) return lwcli::usage_error(kCmd, std::string("--") + req + " is required");
  std::set<std::string> dump;
  if (!parse_dump(args.get("dump", "logits"), &dump, &error))
    return lwcli::usage_error(kCmd, error);
  auto device = lw::parse_device(args.get("device", "cpu"));
  if (!device.is_ok()) return lwcli::usage_error(kCmd, device.status().message());
  auto dtype = lw::parse_dtype(args.get("dtype", "f32"));
  if (!dtype.is_ok()) return lwcli::usage_error(kCmd, dtype.status().message());
  if (*dtype != lw::DType::kF32 && *dtype != lw::DType::kBF16)
    return lwcli::usage_error(kCmd, "--dtype must be f32 or bf16");

#if LW_WITH_CUDA
  if (device->is_cuda()) {
    auto st = lw::cuda::init_backend();
    if (!st.is_ok()) return lwcli::fail(kCmd, st.to_string());
  }
#endif
  auto model = lw::models::load_model(args.get("model"), {*device, *dtype});
  if (!model.is_ok()) return lwcli::fail(kCmd, model.status().to_string());
  auto batch = read_batch(args.get("inputs"), *device);
  if (!batch.is_ok()) return lwcli::fail(kCmd, batch.status().to_string());
  lw::models::ForwardOptions fo;
  fo.capture_attention = dump.count("attentions") > 0;
  fo.dropout = 0;
  auto out = (*model)->forward(*batch, fo);
  if (!out.is_ok()) return lwcli::fail(kCmd, out.status().to_string());

  std::vector<std::pair<std::string, lw::Tensor>> named;
  if (dump.count("logits")) {
    if (!out->logits.defined())
      return lwcli::fail(
          kCmd, (*model)->architecture() + " has no head: no logits (dump hidden instead)");
    named.emplace_back("logits", out->logits);
  }
  if (dump.count("hidden")) named.emplace_back("last_hidden", out->last_hidden);
  for (size_t l = 0; l < out->attn_probs.size(); ++l)
    named.emplace_back("attn." + std::to_string(l), out->attn_probs[l]);
  std::vector<std::vector<float>> host;
  std::vector<lw::io::StTensorData> tensors;
  host.reserve(named.size());
  nlohmann::json listed = nlohmann::json::array();
  for (const auto& [name, t] : named) {
    auto v = t.to_float_vector();
    if (!v.is_ok()) return lwcli::fail(kCmd, v.status().to_string());
    host.push_back(std::move(*v));
    tensors.push_back({name, lw::io::StDtype::kF32, t.shape(), host.back().data(),
                       host.back().size() * sizeof(float)});
    listed.push_back({{"name", name}, {"shape", t.shape()}});
  }
  auto st = lw::io::write_safetensors(args.get("out"), tensors,
                                      {{"architecture", (*model)->architecture()},
                                       {"device", device->to_string()},
                                       {"dtype", lw::dtype_name(*dtype)}});
  if (!st.is_ok()) return lwcli::fail(kCmd, st.to_string());
  if (args.has("json")) {
    nlohmann::json j = {{"out", args.get("out")},
                        {"architecture", (*model)->architecture()},
                        {"device", device->to_string()},
                        {"dtype", lw::dtype_name(*dtype)},
                        {"tensors", listed}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("wrote %s: %zu tensors\n", args.get("out").c_str(), tensors.size());
  }
  return 0;
}

const lwcli::CommandRegistration kRegistration(
    {kCmd, "run a model once and write logits, hidden states, attentions", kUsage, run_forward});

}  // namespace
