// Helpers for tests that compare our engine with the golden files written by
// tests/golden/make_golden.py (PyTorch + transformers): paths, reading golden tensors as f32,
// train.json, and the relative error measure max|a-b| / max|b| used by every check.
#pragma once
#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/io/checkpoint.h"
#include "engine/io/safetensors.h"

namespace golden {

inline std::string dir(const std::string& name) {
  return std::string(LW_SOURCE_DIR) + "/tests/golden/data/" + name;
}

inline nlohmann::json train_json(const std::string& name) {
  std::ifstream f(dir(name) + "/train.json");
  std::stringstream ss;
  ss << f.rdbuf();
  return nlohmann::json::parse(ss.str());
}

// Every tensor of a golden safetensors file, as f32 (with its shape).
struct Tensors {
  lw::io::SafeTensorsFile file;
  std::vector<float> get(const std::string& name, std::vector<int64_t>* shape = nullptr) const {
    const auto* t = file.find(name);
    if (!t) return {};
    if (shape) *shape = t->shape;
    std::vector<float> v(static_cast<size_t>(t->numel));
    if (!lw::io::copy_as_f32(name, t->dtype, file.data(*t), t->numel, v.data()).is_ok()) return {};
    return v;
  }
};

inline lw::Result<Tensors> open(const std::string& name, const std::string& file) {
  auto f = lw::io::SafeTensorsFile::open(dir(name) + "/" + file);
  if (!f.is_ok()) return f.status();
  return Tensors{std::move(*f)};
}

inline double max_abs(const std::vector<float>& a) {
  double m = 0;
  for (float x : a) m = std::max(m, double(std::fabs(x)));
  return m;
}

inline double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, double(std::fabs(a[i] - b[i])));
  return m;
}

// max|ours - ref| / max|ref| (the measure the issue states its tolerances in).
inline double rel_error(const std::vector<float>& ours, const std::vector<float>& ref) {
  double scale = max_abs(ref);
  return max_abs_diff(ours, ref) / (scale > 0 ? scale : 1.0);
}

inline std::vector<float> transpose(const std::vector<float>& x, int64_t rows, int64_t cols) {
  std::vector<float> y(x.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) y[c * rows + r] = x[r * cols + c];
  return y;
}

}  // namespace golden

#include "engine/models/model.h"

namespace golden {

// A parameter's f32 values in Hugging Face's layout (Conv1D weights transposed back).
inline std::vector<float> hf_layout(const lw::models::Param& p) {
  const lw::Tensor& w = p.master.defined() ? p.master : p.value;
  auto v = w.to_float_vector();
  if (!v.is_ok()) return {};
  if (p.spec.transposed) return transpose(*v, p.spec.shape[0], p.spec.shape[1]);
  return *v;
}
inline std::vector<float> hf_layout_grad(const lw::models::Param& p) {
  auto v = p.grad.to_float_vector();
  if (!v.is_ok()) return {};
  if (p.spec.transposed) return transpose(*v, p.spec.shape[0], p.spec.shape[1]);
  return *v;
}

// The golden cases: folder name and the llmwb task.
struct Case {
  const char* name;
  const char* task;
};
inline const Case kCases[] = {{"gpt2", "causal-lm"}, {"bert_cls", "classify"}, {"bert_mlm", "mlm"}};

// Elements [start, end) of the named tensor whose true gradient is zero (attention key bias).
struct Slice {
  std::string name;
  int64_t start, end;
};
inline std::vector<Slice> zero_grad_slices(const nlohmann::json& train) {
  std::vector<Slice> out;
  for (const auto& s : train["zero_grad_slices"])
    out.push_back({s["name"].get<std::string>(), s["start"].get<int64_t>(), s["end"].get<int64_t>()});
  return out;
}
// Copies of a and b without the zero-gradient slices of tensor `name`.
inline void drop_slices(const std::string& name, const std::vector<Slice>& slices,
                        std::vector<float>* a, std::vector<float>* b) {
  for (auto it = slices.rbegin(); it != slices.rend(); ++it) {
    if (it->name != name) continue;
    a->erase(a->begin() + it->start, a->begin() + it->end);
    b->erase(b->begin() + it->start, b->begin() + it->end);
  }
}

}  // namespace golden
