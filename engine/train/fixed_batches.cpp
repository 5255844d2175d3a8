// Fixed-batch training and the batches file reader (see fixed_batches.h).
#include "engine/train/fixed_batches.h"

#include <cstdlib>
#include <set>

#include "engine/io/checkpoint.h"
#include "engine/io/safetensors.h"
#include "engine/train/adamw.h"

namespace lw::train {
namespace {

// "batch12.labels" -> (12, "labels"); false for any other name.
bool split_key(const std::string& key, long* index, std::string* field) {
  if (key.rfind("batch", 0) != 0) return false;
  size_t dot = key.find('.');
  if (dot == std::string::npos || dot == 5) return false;
  std::string num = key.substr(5, dot - 5);
  if (num.find_first_not_of("0123456789") != std::string::npos || num.size() > 6) return false;
  *index = std::strtol(num.c_str(), nullptr, 10);
  *field = key.substr(dot + 1);
  return true;
}

Result<Tensor> read_ints(const io::SafeTensorsFile& f, const std::string& name, Device device) {
  const io::StTensorInfo* t = f.find(name);
  std::vector<int32_t> v(static_cast<size_t>(t->numel));
  LW_TRY(io::copy_as_i32(f.path() + ": tensor '" + name + "'", t->dtype, f.data(*t), t->numel, v.data()));
  return Tensor::from_ints(v, t->shape, device);
}

Status check_task(const models::Model& model, const std::string& task) {
  models::Head want;
  if (task == "causal-lm") want = models::Head::kCausalLm;
  else if (task == "classify") want = models::Head::kSequenceClassification;
  else if (task == "mlm") want = models::Head::kMaskedLm;
  else return invalid_argument("unknown task '" + task + "' (causal-lm, classify, mlm)");
  LW_CHECK(model.head() == want, "task '" + task + "' needs a model with a " +
                                     models::head_name(want) + " head; " + model.architecture() +
                                     " has '" + models::head_name(model.head()) + "'");
  return Status::ok();
}

}  // namespace

Result<std::vector<models::Batch>> load_batches(const std::string& path, Device device) {
  LW_ASSIGN_OR_RETURN(io::SafeTensorsFile f, io::SafeTensorsFile::open(path));
  std::set<long> indices;
  for (const auto& t : f.tensors()) {
    long i;
    std::string field;
    if (!split_key(t.name, &i, &field) ||
        (field != "input_ids" && field != "attention_mask" && field != "labels" &&
         field != "token_type_ids"))
      return invalid_argument(path + ": unexpected tensor '" + t.name +
                              "' (expected batch<i>.input_ids, .attention_mask, .token_type_ids, .labels)");
    indices.insert(i);
  }
  LW_CHECK(!indices.empty(), path + ": no batch0.input_ids");
  LW_CHECK(*indices.rbegin() == static_cast<long>(indices.size()) - 1,
           path + ": batch indices must run 0.." + std::to_string(indices.size() - 1) +
               " without gaps, found batch" + std::to_string(*indices.rbegin()));
  std::vector<models::Batch> batches;
  for (long i = 0; i < static_cast<long>(indices.size()); ++i) {
    std::string pre = "batch" + std::to_string(i) + ".";
    const io::StTensorInfo* ids = f.find(pre + "input_ids");
    LW_CHECK(ids && ids->shape.size() == 2 && ids->numel > 0,
             path + ": '" + pre + "input_ids' must exist and be [B,T]");
    models::Batch b;
    LW_ASSIGN_OR_RETURN(b.input_ids, read_ints(f, pre + "input_ids", device));
    for (const char* opt : {"attention_mask", "token_type_ids"}) {
      const io::StTensorInfo* t = f.find(pre + opt);
      if (!t) continue;
      LW_CHECK(t->shape == ids->shape, path + ": '" + pre + opt + "' has shape " +
                                           shape_to_string(t->shape) + ", input_ids has " +
                                           shape_to_string(ids->shape));
      LW_ASSIGN_OR_RETURN(Tensor x, read_ints(f, pre + opt, device));
      (std::string(opt) == "attention_mask" ? b.attention_mask : b.token_type_ids) = std::move(x);
    }
    const io::StTensorInfo* labels = f.find(pre + "labels");
    LW_CHECK(labels, path + ": '" + pre + "labels' is missing");
    LW_CHECK(labels->shape == ids->shape ||
                 (labels->shape.size() == 1 && labels->shape[0] == ids->shape[0]),
             path + ": '" + pre + "labels' has shape " + shape_to_string(labels->shape) +
                 "; expected [B,T] like input_ids or [B]");
    LW_ASSIGN_OR_RETURN(b.labels, read_ints(f, pre + "labels", device));
    batches.push_back(std::move(b));
  }
  return batches;
}

Result<std::vector<float>> train_fixed_batches(models::Model& model,
                                               const std::vector<models::Batch>& batches,
                                               const FixedBatchOptions& opts) {
  LW_TRY(check_task(model, opts.task));
  LW_CHECK(!batches.empty(), "no batches to train on");
  LW_CHECK(opts.steps >= 1, "steps must be at least 1, got " + std::to_string(opts.steps));
  LW_TRY(model.alloc_grads());
  AdamW optimizer(opts.adamw);
  models::ForwardOptions fo;
  fo.keep_activations = true;
  fo.dropout = opts.no_dropout ? 0.0f : -1.0f;
  std::vector<float> losses;
  for (int step = 0; step < opts.steps; ++step) {
    const models::Batch& batch = batches[step % batches.size()];
    LW_TRY(model.zero_grads());
    fo.dropout_seed = static_cast<uint64_t>(step);
    auto res = model.forward(batch, fo);
    if (!res.is_ok()) return res.status().with_context("step " + std::to_string(step));
    LW_TRY(model.backward());
    LW_TRY(optimizer.step(model));
    losses.push_back(res->loss);
    if (opts.progress && !opts.progress(step, res->loss))
      return cancelled("training cancelled after step " + std::to_string(step));
  }
  return losses;
}

}  // namespace lw::train
