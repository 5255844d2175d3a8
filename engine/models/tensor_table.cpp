// Table expansion shared by the families (see tensor_table.h).
#include "engine/models/tensor_table.h"

namespace lw::models {
namespace {

bool is_layer_row(const TableRow& r) { return std::string(r.name).find("{L}") != std::string::npos; }

std::string with_layer(const char* s, int64_t layer) {
  std::string out = s;
  for (size_t pos; (pos = out.find("{L}")) != std::string::npos;)
    out.replace(pos, 3, std::to_string(layer));
  return out;
}

ParamSpec make_spec(const TableRow& r, int64_t layer, std::span<const int64_t> dims) {
  ParamSpec s;
  s.name = with_layer(r.name, layer);
  s.shape.push_back(dims[r.d0]);
  if (r.d1 >= 0) s.shape.push_back(dims[r.d1]);
  s.role = r.role;
  if (r.hf_name[0]) s.hf_names.push_back(with_layer(r.hf_name, layer));
  if (r.hf_alt[0]) s.hf_names.push_back(with_layer(r.hf_alt, layer));
  s.transposed = r.transposed;
  return s;
}

}  // namespace

std::vector<ParamSpec> expand_table(std::span<const TableRow> rows, int64_t n_layer,
                                    std::span<const int64_t> dims,
                                    const std::function<bool(const TableRow&)>& keep) {
  std::vector<ParamSpec> out;
  for (size_t i = 0; i < rows.size();) {
    if (!is_layer_row(rows[i])) {
      if (keep(rows[i])) out.push_back(make_spec(rows[i], 0, dims));
      ++i;
      continue;
    }
    size_t end = i;
    while (end < rows.size() && is_layer_row(rows[end])) ++end;
    for (int64_t l = 0; l < n_layer; ++l)
      for (size_t j = i; j < end; ++j)
        if (keep(rows[j])) out.push_back(make_spec(rows[j], l, dims));
    i = end;
  }
  return out;
}

Result<size_t> param_index(const std::vector<Param>& params, const std::string& name) {
  for (size_t i = 0; i < params.size(); ++i)
    if (params[i].spec.name == name) return i;
  return internal_error("model tensor table has no '" + name + "'");
}

}  // namespace lw::models
