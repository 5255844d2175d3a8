// Fine-tuning checkpoints (see checkpoint.h): model folder + tokenizer + resume state.
#include "engine/train/checkpoint.h"

#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/io/atomic_folder.h"
#include "engine/io/checkpoint.h"
#include "engine/io/safetensors.h"

namespace lw::train {
namespace fs = std::filesystem;

std::string TrainerState::to_json() const {
  nlohmann::ordered_json j;
  j["step"] = step;
  j["epoch"] = epoch;
  j["micro_in_epoch"] = micro_in_epoch;
  j["has_best"] = has_best;
  j["best_value"] = best_value;
  j["best_step"] = best_step;
  j["evals_without_improvement"] = evals_without_improvement;
  j["last_loss"] = last_loss;
  return j.dump(2);
}

Result<TrainerState> TrainerState::from_json(const std::string& source, const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  LW_CHECK(j.is_object(), source + ": not a JSON object");
  TrainerState s;
  try {
    s.step = j.at("step").get<int64_t>();
    s.epoch = j.at("epoch").get<int>();
    s.micro_in_epoch = j.at("micro_in_epoch").get<int64_t>();
    s.has_best = j.at("has_best").get<bool>();
    s.best_value = j.at("best_value").get<double>();
    s.best_step = j.at("best_step").get<int64_t>();
    s.evals_without_improvement = j.at("evals_without_improvement").get<int>();
    s.last_loss = j.value("last_loss", 0.0);
  } catch (const std::exception& e) {
    return invalid_argument(source + ": " + e.what());
  }
  LW_CHECK(s.step >= 0 && s.epoch >= 0 && s.micro_in_epoch >= 0, source + ": negative counters");
  return s;
}

Status copy_tokenizer_files(const std::string& from, const std::string& to) {
  if (from.empty()) return Status::ok();
  for (const char* f : {"vocab.txt", "tokenizer.json", "tokenizer_config.json",
                        "special_tokens_map.json", "vocab.json", "merges.txt"}) {
    fs::path src = fs::path(from) / f;
    std::error_code ec;
    if (!fs::exists(src, ec)) continue;
    fs::copy_file(src, fs::path(to) / f, fs::copy_options::overwrite_existing, ec);
    if (ec) return io_error(src.string() + ": cannot copy into " + to + " (" + ec.message() + ")");
  }
  return Status::ok();
}

namespace {

Status write_moments(const std::string& path, const models::Model& model,
                     const std::vector<Tensor>& m, const std::vector<Tensor>& v) {
  LW_CHECK(m.size() == model.params().size() && v.size() == m.size(),
           "optimizer state does not match the model's parameters");
  std::vector<std::vector<float>> host;
  host.reserve(2 * m.size());
  std::vector<io::StTensorData> out;
  for (size_t i = 0; i < m.size(); ++i) {
    const auto& spec = model.params()[i].spec;
    for (int which = 0; which < 2; ++which) {
      LW_ASSIGN_OR_RETURN(std::vector<float> h, (which ? v[i] : m[i]).to_float_vector());
      host.push_back(std::move(h));
      out.push_back({(which ? "v." : "m.") + spec.name, io::StDtype::kF32, spec.shape,
                     host.back().data(), host.back().size() * sizeof(float)});
    }
  }
  return io::write_safetensors(path, out, {{"format", "lw-adamw"}});
}

}  // namespace

Status save_checkpoint(const models::Model& model, const std::string& dir,
                       const std::string& tokenizer_dir, const TrainerState* state,
                       const std::vector<Tensor>* m, const std::vector<Tensor>* v) {
  return io::write_folder_atomic(dir, [&](const std::string& tmp) -> Status {
    LW_TRY(model.save_into(tmp));
    LW_TRY(copy_tokenizer_files(tokenizer_dir, tmp));
    if (state) {
      LW_TRY(io::write_file_atomic(tmp + "/trainer_state.json", state->to_json()));
      if (m && v && !m->empty()) LW_TRY(write_moments(tmp + "/optimizer.safetensors", model, *m, *v));
    }
    return Status::ok();
  });
}

Result<TrainerState> load_trainer_state(const std::string& dir) {
  const std::string path = dir + "/trainer_state.json";
  std::ifstream in(path);
  if (!in) return not_found(path + ": missing (not a resumable checkpoint)");
  std::stringstream ss;
  ss << in.rdbuf();
  return TrainerState::from_json(path, ss.str());
}

Status load_moments(const std::string& dir, const models::Model& model, std::vector<Tensor>* m,
                    std::vector<Tensor>* v) {
  const std::string path = dir + "/optimizer.safetensors";
  m->clear();
  v->clear();
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Status::ok();  // saved before the first step
  LW_ASSIGN_OR_RETURN(io::SafeTensorsFile f, io::SafeTensorsFile::open(path));
  for (const auto& prm : model.params()) {
    for (int which = 0; which < 2; ++which) {
      const std::string name = (which ? "v." : "m.") + prm.spec.name;
      const io::StTensorInfo* t = f.find(name);
      LW_CHECK(t && t->shape == prm.spec.shape,
               path + ": tensor '" + name + "' is missing or has the wrong shape");
      std::vector<float> host(size_t(t->numel));
      LW_TRY(io::copy_as_f32(path + ": '" + name + "'", t->dtype, f.data(*t), t->numel, host.data()));
      LW_ASSIGN_OR_RETURN(Tensor x, Tensor::from_floats(host, prm.spec.shape, DType::kF32, model.device()));
      (which ? v : m)->push_back(std::move(x));
    }
  }
  return Status::ok();
}

}  // namespace lw::train
