// The prompt-tuning facade (see prompt_tune.h). Generation reuses the ordinary generator by
// handing it a thin model wrapper whose first (prefill) forward feeds the prompt's embeddings,
// virtual rows included; every later step is the wrapped model's own cached forward.
#include "engine/api/prompt_tune.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "engine/api/experiment_store.h"

namespace lw::api {
namespace {

using Json = nlohmann::ordered_json;

// The store reads relative artifact paths against the project folder; ours are the caller's.
std::string absolute(const std::string& p) {
  std::error_code ec;
  auto a = std::filesystem::absolute(p, ec);
  return ec ? p : a.string();
}

// Prefills `ids` from `embeds` [1,T,C] (then the ids of `continuation`, when the generator
// continues after kept tokens); otherwise the inner model. Its family and architecture
// differ from the inner model's so device-specific decode paths that read weights directly
// (the CUDA decode engine) decline it and the generator keeps the per-sequence KV caches.
class PromptedModel final : public models::Model {
 public:
  PromptedModel(models::Model& inner, Tensor embeds, std::vector<int32_t> ids,
                std::vector<int32_t> continuation)
      : inner_(inner), embeds_(std::move(embeds)), ids_(std::move(ids)),
        continuation_(std::move(continuation)) {
    device_ = inner.device();
    dtype_ = inner.dtype();
  }
  std::string family() const override { return "prompt-table"; }
  std::string architecture() const override { return inner_.architecture() + "+prompt-table"; }
  models::Head head() const override { return inner_.head(); }
  std::string config_json() const override { return inner_.config_json(); }
  Result<models::ForwardResult> forward(const models::Batch&, const models::ForwardOptions&) override {
    return unsupported("generation with a prompt table needs the KV cache (drop --no-cache)");
  }
  Status backward() override { return unsupported("a prompted model does not train"); }
  Result<models::KvLayout> kv_layout() const override { return inner_.kv_layout(); }
  Result<Tensor> forward_cached(const Tensor& ids, int64_t past,
                                std::vector<models::KvLayer>& cache) override {
    const int64_t n_prompt = int64_t(ids_.size());
    if (past != 0 || ids.dim() != 2 || ids.size(1) != n_prompt + int64_t(continuation_.size()))
      return inner_.forward_cached(ids, past, cache);
    LW_ASSIGN_OR_RETURN(Tensor logits, inner_.forward_cached_embeds(embeds_, 0, cache));
    if (continuation_.empty()) return logits;
    LW_ASSIGN_OR_RETURN(Tensor rest, Tensor::from_ints(continuation_, {1, int64_t(continuation_.size())},
                                                       inner_.device()));
    return inner_.forward_cached(rest, n_prompt, cache);
  }

 private:
  models::Model& inner_;
  Tensor embeds_;
  std::vector<int32_t> ids_, continuation_;
};

Json request_json(const PromptTuneRequest& r) {
  const auto& c = r.config;
  return {{"method", c.encoder.type == train::EncoderType::kNone ? "prompt-tuning" : "p-tuning"},
          {"encoder", train::encoder_type_name(c.encoder.type)},
          {"encoder_hidden", c.encoder.hidden}, {"encoder_layers", c.encoder.layers},
          {"encoder_dropout", c.encoder.dropout}, {"init", r.init_from.empty() ? c.init : "init-from"},
          {"init_text", c.init_text}, {"init_from", r.init_from}, {"epochs", c.epochs},
          {"batch", c.batch}, {"lr", c.lr}, {"weight_decay", c.weight_decay},
          {"warmup_steps", c.warmup_steps}, {"seed", c.seed}, {"tasks", r.tasks_path},
          {"train", r.train_path}, {"dev", r.dev_path}, {"out", r.out_path}, {"peft_dir", r.peft_dir},
          {"device", r.device.to_string()}, {"dtype", dtype_name(r.dtype)}};
}

// The request's tasks, from its file or its inline JSON (the page's editor).
Result<std::vector<train::PromptTask>> request_tasks(const PromptTuneRequest& req) {
  if (!req.tasks_path.empty()) return train::load_tasks(req.tasks_path);
  return train::parse_tasks_text(req.tasks_json, "tasks");
}

// What the Experiments page shows of the tasks: their names and templates.
Json tasks_json(const std::vector<train::PromptTask>& tasks) {
  Json list = Json::array();
  for (const auto& t : tasks)
    list.push_back({{"taskname", t.taskname}, {"prompt_template", t.prompt_template},
                    {"total_virtual_tokens", t.total_virtual_tokens}});
  return list;
}

// The training itself, metrics streamed into the store (when there is one).
Result<train::PromptTrainResult> run_training(const PromptTuneRequest& req,
                                              const std::vector<train::PromptTask>& tasks,
                                              PlaygroundModel& m, ExperimentStore* store, int64_t run,
                                              const train::PromptProgressFn& progress) {
  if (!req.peft_dir.empty())
    for (const auto& t : tasks)
      LW_CHECK(t.single_leading_block(),
               "--peft-dir: task '" + t.taskname + "' has the template '" + t.prompt_template +
                   "'; PEFT only prepends one block of virtual tokens (<|VIRTUAL_PROMPT_0|> first)");
  LW_ASSIGN_OR_RETURN(auto train_ex, train::load_examples(req.train_path, tasks));
  std::vector<train::PromptExample> dev_ex;
  if (!req.dev_path.empty()) {
    LW_ASSIGN_OR_RETURN(dev_ex, train::load_examples(req.dev_path, tasks));
  }
  std::unique_ptr<train::PromptTable> base;
  if (!req.init_from.empty()) {
    LW_ASSIGN_OR_RETURN(train::PromptTable t, train::load_prompt_table(req.init_from));
    LW_ASSIGN_OR_RETURN(train::ModelIdentity id, train::model_identity(*m.model));
    LW_TRY(train::check_table_fits(t, id, req.init_from));
    base = std::make_unique<train::PromptTable>(std::move(t));
  }
  std::vector<MetricPoint> pending;
  Status log_status = Status::ok();
  auto flush = [&] {
    if (store && !pending.empty() && log_status.is_ok()) log_status = store->log_metrics(run, pending);
    pending.clear();
  };
  auto cb = [&](const train::PromptProgress& p) {
    if (p.eval) {
      pending.push_back({p.step, "eval/loss", p.val_loss, 0});
      pending.push_back({p.step, "eval/accuracy", p.val_accuracy, 0});
    } else {
      pending.push_back({p.step, "train/loss", p.loss, 0});
      pending.push_back({p.step, "lr", p.lr, 0});
    }
    if (p.eval || pending.size() >= 20) flush();
    return progress ? progress(p) : true;
  };
  auto r = train::train_prompts(*m.model, *m.tokenizer, tasks, train_ex, dev_ex, base.get(), req.config, cb);
  if (r.is_ok() && r->has_dev) {
    pending.push_back({0, "eval/loss", r->val_loss_before, 0});
    pending.push_back({0, "eval/accuracy", r->val_accuracy_before, 0});
  }
  flush();
  LW_TRY(log_status);
  return r;
}

}  // namespace

Result<PromptTuneOutcome> tune_prompt(const PromptTuneRequest& req,
                                      const train::PromptProgressFn& progress) {
  LW_CHECK(!req.out_path.empty(), "prompt tuning needs an output table path (--out)");
  LW_CHECK(!req.train_path.empty(), "prompt tuning needs training data (--train)");
  LW_ASSIGN_OR_RETURN(auto m, load_playground_model(req.model_dir, {req.device, req.dtype}));
  LW_CHECK(m->tokenizer, req.model_dir + ": prompt tuning needs the folder's tokenizer (" +
                             m->tokenizer_error + ")");
  std::unique_ptr<ExperimentStore> store;
  PromptTuneOutcome out;
  LW_ASSIGN_OR_RETURN(std::vector<train::PromptTask> tasks, request_tasks(req));
  if (!req.project_dir.empty()) {
    LW_ASSIGN_OR_RETURN(store, ExperimentStore::open(req.project_dir));
    std::string name = "prompt";
    for (size_t i = 0; i < tasks.size(); ++i) name += (i ? ", " : " ") + tasks[i].taskname;
    Json params = request_json(req);
    params["task_list"] = tasks_json(tasks);
    RunSpec spec{"prompt", name, req.model_dir, req.train_path, params.dump()};
    LW_ASSIGN_OR_RETURN(out.run_id, store->create_run(spec));
  }
  auto r = run_training(req, tasks, *m, store.get(), out.run_id, progress);
  Status st = r.status();
  if (r.is_ok()) {
    out.result = std::move(*r);
    st = train::save_prompt_table(out.result.table, req.out_path);
    if (st.is_ok() && store) st = store->add_artifact(out.run_id, "prompt-table", absolute(req.out_path)).status();
    if (st.is_ok() && !req.peft_dir.empty()) {
      // One task: the folder itself; several: one sub-folder per (single-block) task.
      const auto& all = out.result.table.tasks;
      for (size_t i = 0; i < all.size() && st.is_ok(); ++i) {
        if (!all[i].task.single_leading_block()) continue;
        const std::string dir = all.size() == 1 ? req.peft_dir : req.peft_dir + "/" + all[i].task.taskname;
        if (dir != req.peft_dir && ::mkdir(req.peft_dir.c_str(), 0755) != 0 && errno != EEXIST)
          st = io_error(req.peft_dir + ": cannot create folder");
        if (st.is_ok()) st = train::export_peft_adapter(out.result.table, all[i].task.taskname, dir, req.model_dir);
        if (st.is_ok() && store) st = store->add_artifact(out.run_id, "peft-adapter", absolute(dir)).status();
      }
    }
  }
  if (store) {
    RunStatus rs = !st.is_ok() ? RunStatus::kFailed : out.result.cancelled ? RunStatus::kCancelled : RunStatus::kOk;
    Status fin = store->finish_run(out.run_id, rs, st.is_ok() ? "" : st.message());
    if (st.is_ok()) st = fin;
  }
  LW_TRY(st);
  return out;
}

Result<train::PromptTable> load_table_for(const PlaygroundModel& m, const std::string& path,
                                          const std::string& peft_task) {
  LW_ASSIGN_OR_RETURN(train::ModelIdentity id, train::model_identity(*m.model));
  // A folder with adapter_config.json is a PEFT adapter; anything else a table file.
  if (std::FILE* f = std::fopen((path + "/adapter_config.json").c_str(), "rb")) {
    std::fclose(f);
    train::PromptTable t;
    t.model = id;  // PEFT records no model hash: import_peft_adapter checks the width
    LW_ASSIGN_OR_RETURN(train::PromptTableEntry e, train::import_peft_adapter(path, peft_task, id.hidden_size));
    t.put(std::move(e));
    return t;
  }
  LW_ASSIGN_OR_RETURN(train::PromptTable t, train::load_prompt_table(path));
  LW_TRY(train::check_table_fits(t, id, path));
  return t;
}

Result<FormattedPrompt> format_task_prompt(const PlaygroundModel& m, const train::PromptTask& task,
                                           const std::map<std::string, std::string>& fields) {
  LW_CHECK(m.tokenizer, m.dir + ": formatting a task prompt needs the folder's tokenizer (" +
                            m.tokenizer_error + ")");
  train::PromptExample ex;
  ex.fields = fields;
  for (const auto& f : task.fields())
    LW_CHECK(f == task.answer_field || fields.count(f),
             "task '" + task.taskname + "' needs field '" + f + "'");
  LW_ASSIGN_OR_RETURN(models::KvLayout kv, m.model->kv_layout());
  FormattedPrompt out;
  LW_ASSIGN_OR_RETURN(out.layout, train::layout_example(task, 0, ex, *m.tokenizer, {kv.max_positions - 1, false}));
  std::vector<int32_t> run;
  auto flush = [&]() -> Status {
    if (run.empty()) return Status::ok();
    LW_ASSIGN_OR_RETURN(std::string text, m.tokenizer->decode(run, false));
    out.preview += text;
    run.clear();
    return Status::ok();
  };
  for (size_t t = 0; t < out.layout.ids.size(); ++t) {
    if (out.layout.virtual_row[t] < 0) {
      run.push_back(out.layout.ids[t]);
      continue;
    }
    LW_TRY(flush());
    out.preview += "[V" + std::to_string(out.layout.virtual_row[t]) + "]";
  }
  LW_TRY(flush());
  return out;
}

Result<std::vector<train::PromptTask>> parse_task_definitions(const std::string& text,
                                                              const std::string& source) {
  return train::parse_tasks_text(text, source);
}

Result<TaskPreview> preview_task(const std::string& tasks_json, const std::string& taskname,
                                 const std::string& jsonl_line) {
  LW_ASSIGN_OR_RETURN(std::vector<train::PromptTask> tasks, train::parse_tasks_text(tasks_json, "tasks"));
  TaskPreview out;
  const train::PromptTask* task = &tasks[0];
  for (const auto& t : tasks) {
    out.tasknames.push_back(t.taskname);
    if (t.taskname == taskname) task = &t;
  }
  out.virtual_tokens = task->total_virtual_tokens;
  nlohmann::json line = nlohmann::json::parse(jsonl_line, nullptr, false);
  LW_CHECK(!line.is_discarded() && line.is_object(), "example: not JSON (one JSON object per line)");
  for (const auto& part : task->parts) {
    if (part.kind == train::TemplatePart::kText) {
      out.text += part.text;
    } else if (part.kind == train::TemplatePart::kVirtual) {
      const int32_t off = task->marker_offset(part.marker);
      for (int32_t r = 0; r < task->virtual_token_splits[part.marker]; ++r)
        out.text += "[V" + std::to_string(off + r) + "]";
    } else {
      LW_CHECK(line.contains(part.text), "example: the template needs field '" + part.text + "'");
      const auto& v = line[part.text];
      const std::string value = v.is_string() ? v.get<std::string>() : v.dump();
      out.text += part.text == task->answer_field ? "[answer: " + value + "]" : value;
    }
  }
  return out;
}

Result<GenerateResult> generate_with_table(PlaygroundModel& m, const train::PromptTable& table,
                                           const std::string& taskname,
                                           const std::map<std::string, std::string>& fields,
                                           GenerateRequest request, const GenerateCallbacks& callbacks,
                                           const std::vector<int32_t>& continuation) {
  const train::PromptTableEntry* e = table.find(taskname);
  if (!e) {
    std::string names;
    for (const auto& t : table.tasks) names += (names.empty() ? "" : ", ") + t.task.taskname;
    return invalid_argument("the prompt table has no task '" + taskname + "' (it has: " + names + ")");
  }
  LW_CHECK(request.use_kv_cache, "generation with a prompt table needs the KV cache (drop --no-cache)");
  LW_ASSIGN_OR_RETURN(FormattedPrompt fp, format_task_prompt(m, e->task, fields));
  LW_ASSIGN_OR_RETURN(models::Batch b, train::assemble_batch(*m.model, {&fp.layout}, {&e->table}));
  PromptedModel wrapped(*m.model, b.inputs_embeds, fp.layout.ids, continuation);
  request.prompts = {fp.layout.ids};
  request.prompts[0].insert(request.prompts[0].end(), continuation.begin(), continuation.end());
  if (request.eos_token_ids.empty()) request.eos_token_ids = m.eos_token_ids;
  return lw::generate(wrapped, m.tokenizer.get(), request, callbacks);
}

}  // namespace lw::api
