// The tensor-table machinery behind each family's single table: a row names one tensor
// (ours and Hugging Face's), its shape in the family's dimension symbols, its role and whether
// Hugging Face stores it transposed. Rows containing "{L}" are repeated for every layer.
#pragma once
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "engine/models/model.h"

namespace lw::models {

struct TableRow {
  const char* name;     // ours; "{L}" = layer index
  int d0, d1;           // indices into the family's dimension array; -1 = no such axis
  Role role;
  const char* hf_name;  // "" = not stored (tied to another tensor)
  const char* hf_alt;   // another Hugging Face spelling accepted on load, or ""
  bool transposed;      // Hugging Face stores [d1, d0]
};

// Expands `rows` into specs: a contiguous run of "{L}" rows is emitted once per layer, in
// layer order. `keep` filters rows that a configuration does not have (an untied head, a
// pooler).
std::vector<ParamSpec> expand_table(std::span<const TableRow> rows, int64_t n_layer,
                                    std::span<const int64_t> dims,
                                    const std::function<bool(const TableRow&)>& keep);

// Index of our tensor `name` in `params` (an engine bug when absent: the table is ours).
Result<size_t> param_index(const std::vector<Param>& params, const std::string& name);

}  // namespace lw::models
