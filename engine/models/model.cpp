// The parts of a model that only need its tensor table: allocation, gradients, checkpoint
// loading (with the name variants real checkpoints use) and Hugging Face compatible saving.
#include "engine/models/model.h"

#include <algorithm>
#include <cstring>

#include "engine/io/atomic_folder.h"
#include "engine/io/checkpoint.h"
#include "engine/io/safetensors.h"
#include "engine/ops/ops.h"

namespace lw::models {
namespace {

// Old BERT checkpoints say LayerNorm.gamma/beta; bare trunks (GPT2Model, BertModel) drop the
// "transformer." / "bert." prefix.
std::vector<std::string> name_variants(const std::string& name) {
  std::vector<std::string> out = {name};
  for (const char* prefix : {"transformer.", "bert."}) {
    size_t n = std::strlen(prefix);
    if (name.compare(0, n, prefix) == 0) out.push_back(name.substr(n));
  }
  size_t count = out.size();
  for (size_t i = 0; i < count; ++i) {
    const std::string s = out[i];  // a copy: push_back below may reallocate
    auto ends = [&](const char* suf) {
      size_t n = std::strlen(suf);
      return s.size() >= n && s.compare(s.size() - n, n, suf) == 0;
    };
    if (ends("LayerNorm.weight")) out.push_back(s.substr(0, s.size() - 6) + "gamma");
    if (ends("LayerNorm.bias")) out.push_back(s.substr(0, s.size() - 4) + "beta");
  }
  return out;
}

std::vector<float> transpose2d(const std::vector<float>& x, int64_t rows, int64_t cols) {
  std::vector<float> y(x.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) y[c * rows + r] = x[r * cols + c];
  return y;
}

}  // namespace

const char* role_name(Role r) {
  switch (r) {
    case Role::kEmbedding: return "embedding";
    case Role::kWeight: return "weight";
    case Role::kBias: return "bias";
    case Role::kNormWeight: return "norm_weight";
    case Role::kNormBias: return "norm_bias";
  }
  return "?";
}

bool ForwardOptions::captures(int64_t layer) const {
  if (!capture_attention) return false;
  if (capture_layers.empty()) return true;
  return std::find(capture_layers.begin(), capture_layers.end(), layer) != capture_layers.end();
}

const char* head_name(Head h) {
  switch (h) {
    case Head::kNone: return "none";
    case Head::kCausalLm: return "causal-lm";
    case Head::kSequenceClassification: return "classify";
    case Head::kMaskedLm: return "mlm";
    case Head::kTokenClassification: return "token-classify";
  }
  return "?";
}

Param* Model::find(const std::string& name) {
  for (auto& prm : params_)
    if (prm.spec.name == name) return &prm;
  return nullptr;
}

int64_t Model::num_parameters() const {
  int64_t n = 0;
  for (const auto& prm : params_) n += shape_numel(prm.spec.shape);
  return n;
}

Status Model::init_params(std::vector<ParamSpec> specs, Device device, DType dtype) {
  LW_CHECK(dtype_is_float(dtype) && dtype != DType::kFP8E4M3 && dtype != DType::kFP8E5M2,
           std::string("compute dtype must be f32, bf16 or f16, got ") + dtype_name(dtype));
  device_ = device;
  dtype_ = dtype;
  params_.clear();
  params_.reserve(specs.size());
  for (auto& s : specs) {
    Param prm;
    prm.spec = std::move(s);
    LW_ASSIGN_OR_RETURN(prm.value, Tensor::zeros(prm.spec.shape, dtype, device));
    if (dtype != DType::kF32) {
      LW_ASSIGN_OR_RETURN(prm.master, Tensor::zeros(prm.spec.shape, DType::kF32, device));
    }
    params_.push_back(std::move(prm));
  }
  return Status::ok();
}

Status Model::alloc_grads() {
  // The first call lays every gradient out in one zeroed buffer, each at a 16-byte-aligned
  // offset (vector loads in the optimizer); a gradient missing later gets its own tensor.
  if (!grad_flat_.defined()) {
    const int64_t align = int64_t{16} / static_cast<int64_t>(dtype_size(dtype_));
    std::vector<int64_t> offsets(params_.size());
    int64_t total = 0;
    for (size_t i = 0; i < params_.size(); ++i) {
      offsets[i] = total;
      total += (shape_numel(params_[i].spec.shape) + align - 1) / align * align;
    }
    LW_ASSIGN_OR_RETURN(grad_flat_, Tensor::zeros({std::max<int64_t>(total, 1)}, dtype_, device_));
    for (size_t i = 0; i < params_.size(); ++i) {
      Param& prm = params_[i];
      if (prm.grad.defined()) continue;
      LW_ASSIGN_OR_RETURN(Tensor flat, grad_flat_.slice(offsets[i], shape_numel(prm.spec.shape)));
      LW_ASSIGN_OR_RETURN(prm.grad, flat.reshape(prm.spec.shape));
    }
  }
  for (auto& prm : params_) {
    if (!prm.grad.defined()) {
      LW_ASSIGN_OR_RETURN(prm.grad, Tensor::zeros(prm.spec.shape, dtype_, device_));
    }
  }
  return Status::ok();
}

Status Model::zero_grads() {
  bool all_in_flat = grad_flat_.defined();
  for (const auto& prm : params_)
    all_in_flat = all_in_flat && prm.grad.defined() && prm.grad.storage() == grad_flat_.storage();
  if (all_in_flat) return grad_flat_.zero_();
  for (auto& prm : params_)
    if (prm.grad.defined()) LW_TRY(prm.grad.zero_());
  return Status::ok();
}

Status Model::sync_values() {
  for (auto& prm : params_)
    if (prm.master.defined()) LW_TRY(ops::copy(prm.value, prm.master));
  return Status::ok();
}

Status Model::load(const io::Checkpoint& ckpt) {
  for (auto& prm : params_) {
    const io::CheckpointTensor* t = nullptr;
    std::string found;
    for (const auto& hf : prm.spec.hf_names) {
      for (const auto& v : name_variants(hf)) {
        if ((t = ckpt.find(v))) {
          found = v;
          break;
        }
      }
      if (t) break;
    }
    if (!t)
      return invalid_argument(ckpt.path() + ": tensor '" + prm.spec.hf_names[0] + "' (" +
                              prm.spec.name + ") is missing");
    Shape want = prm.spec.shape;
    if (prm.spec.transposed) std::swap(want[0], want[1]);
    if (t->info->shape != want)
      return invalid_argument(t->file->path() + ": tensor '" + found + "' has shape " +
                              shape_to_string(t->info->shape) + ", the config implies " +
                              shape_to_string(want));
    std::vector<float> host(static_cast<size_t>(t->info->numel));
    LW_TRY(io::copy_as_f32(t->file->path() + ": tensor '" + found + "'", t->info->dtype,
                           t->data(), t->info->numel, host.data()));
    if (prm.spec.transposed) host = transpose2d(host, want[0], want[1]);
    LW_ASSIGN_OR_RETURN(Tensor f32, Tensor::from_floats(host, prm.spec.shape, DType::kF32, device_));
    LW_TRY(prm.weights().copy_from(f32));
    if (prm.master.defined()) LW_TRY(prm.value.copy_from(f32));
  }
  return Status::ok();
}

Status Model::save(const std::string& dir) const {
  return io::write_folder_atomic(dir, [this](const std::string& tmp) { return save_into(tmp); });
}

Status Model::save_into(const std::string& dir) const {
  std::vector<std::vector<float>> host;
  std::vector<io::StTensorData> out;
  host.reserve(params_.size());
  for (const auto& prm : params_) {
    if (prm.spec.hf_names.empty() || prm.spec.hf_names[0].empty()) continue;
    const Tensor& w = prm.master.defined() ? prm.master : prm.value;
    LW_ASSIGN_OR_RETURN(std::vector<float> v, w.to_float_vector());
    Shape shape = prm.spec.shape;
    if (prm.spec.transposed) {
      v = transpose2d(v, shape[0], shape[1]);
      std::swap(shape[0], shape[1]);
    }
    host.push_back(std::move(v));
    out.push_back({prm.spec.hf_names[0], io::StDtype::kF32, shape, host.back().data(),
                   host.back().size() * sizeof(float)});
  }
  LW_TRY(io::write_file_atomic(dir + "/config.json", config_json()));
  return io::write_safetensors(dir + "/model.safetensors", out, {{"format", "pt"}});
}

}  // namespace lw::models
