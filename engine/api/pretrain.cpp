// The pretraining facade (see pretrain.h): corpus -> chunks, a fresh or loaded GPT-2, the
// lm_trainer loop with every step's metrics buffered into the store, then the model folder
// written atomically with the tokenizer beside it.
#include "engine/api/pretrain.h"

#include <chrono>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "engine/api/experiment_store.h"
#include "engine/api/finetune_internal.h"
#include "engine/api/system_info.h"
#include "engine/models/gpt.h"
#include "engine/tokenize/tokenizer.h"
#include "engine/train/checkpoint.h"
#include "engine/train/lm_trainer.h"

namespace lw::api {
namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {

double wall_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string absolute(const std::string& p) {
  std::error_code ec;
  auto a = fs::absolute(p, ec);
  return ec ? p : a.lexically_normal().string();
}

Json config_json(const PretrainConfig& c) {
  return {{"text", c.text}, {"tokenizer", c.tokenizer_dir}, {"model", c.model_dir},
          {"n_layer", c.n_layer}, {"n_embd", c.n_embd}, {"n_head", c.n_head},
          {"context", c.context}, {"val_fraction", c.val_fraction}, {"steps", c.steps},
          {"tokens", c.tokens}, {"batch", c.batch}, {"lr", c.lr}, {"warmup_ratio", c.warmup_ratio},
          {"schedule", c.schedule}, {"weight_decay", c.weight_decay}, {"dropout", c.dropout},
          {"seed", c.seed}, {"eval_every", c.eval_every}, {"eval_max_chunks", c.eval_max_chunks},
          {"device", c.device}, {"dtype", c.dtype}, {"out", c.out_dir}};
}

Status check_config(const PretrainConfig& c) {
  LW_CHECK(!c.project_dir.empty(), "a project folder is required (--project DIR)");
  LW_CHECK(!c.out_dir.empty(), "an output folder is required (--out DIR)");
  LW_CHECK(!c.text.empty(), "no text given (--text FILE|DIR)");
  LW_CHECK(c.batch >= 1 && c.steps >= 0 && c.tokens >= 0 && c.eval_every >= 0 && c.eval_max_chunks >= 0,
           "batch must be >= 1; steps, tokens, eval_every and eval_max_chunks >= 0");
  LW_CHECK(c.lr > 0 && c.weight_decay >= 0 && c.warmup_ratio >= 0 && c.warmup_ratio < 1,
           "lr must be > 0, weight_decay >= 0, warmup in [0, 1)");
  LW_CHECK(c.dropout >= 0 && c.dropout < 1, "dropout must be in [0, 1)");
  if (c.model_dir.empty()) {
    LW_CHECK(c.n_layer >= 1 && c.n_embd >= 1 && c.n_head >= 1 && c.n_embd % c.n_head == 0,
             "the model shape needs layers, hidden and heads >= 1 with hidden divisible by heads (got " +
                 std::to_string(c.n_embd) + " / " + std::to_string(c.n_head) + ")");
  }
  return Status::ok();
}

// A fresh GPT-2 sized for the tokenizer, or the folder's model (which must be a GPT-2 LM
// whose vocabulary and positions cover the tokenizer and the context).
Result<std::unique_ptr<models::Model>> start_model(const PretrainConfig& c, const Tokenizer& tok,
                                                   Device device, DType dtype) {
  if (c.model_dir.empty()) {
    models::GptConfig g;
    g.vocab_size = tok.vocab_size();
    g.n_positions = c.context;
    g.n_embd = c.n_embd;
    g.n_layer = c.n_layer;
    g.n_head = c.n_head;
    g.resid_pdrop = g.embd_pdrop = g.attn_pdrop = c.dropout;
    return train::make_pretrain_gpt(g, device, dtype, c.seed);
  }
  LW_ASSIGN_OR_RETURN(auto model, models::load_model(c.model_dir, {device, dtype}));
  LW_CHECK(model->family() == "gpt2" && model->head() == models::Head::kCausalLm,
           c.model_dir + ": pretraining continues a GPT2LMHeadModel, not " + model->architecture());
  LW_ASSIGN_OR_RETURN(models::KvLayout kv, model->kv_layout());
  LW_CHECK(c.context <= kv.max_positions, "--context " + std::to_string(c.context) + " exceeds " +
                                              c.model_dir + "'s n_positions " + std::to_string(kv.max_positions));
  const models::Param* wte = model->find("wte");
  LW_CHECK(wte && wte->spec.shape[0] >= tok.vocab_size(),
           c.model_dir + ": the model's vocabulary is smaller than the tokenizer's (" +
               std::to_string(tok.vocab_size()) + ")");
  return model;
}

// A model family may not train with dropout yet: one training forward on one chunk says so
// before a run is recorded (the loop would only find out at its first step).
Status probe_dropout(models::Model& model, const train::LmChunks& chunks, double p) {
  std::vector<int32_t> first(chunks.train.begin(), chunks.train.begin() + chunks.context);
  models::Batch b;
  LW_ASSIGN_OR_RETURN(b.input_ids, Tensor::from_ints(first, {1, chunks.context}, model.device()));
  b.labels = b.input_ids;
  models::ForwardOptions fo;
  fo.keep_activations = true;
  fo.dropout = float(p);
  auto r = model.forward(b, fo);
  if (!r.is_ok()) return r.status().with_context("--dropout " + std::to_string(p));
  return Status::ok();
}

// Buffers metric points and writes them in one transaction every ~2 s.
class Sink {
 public:
  Sink(ExperimentStore& s, int64_t run) : store_(s), run_(run) {}
  void add(int64_t step, const std::string& name, double v) { pts_.push_back({step, name, v, wall_now()}); }
  void maybe_flush() {
    if (wall_now() - last_ > 2.0) flush();
  }
  void flush() {
    last_ = wall_now();
    if (pts_.empty()) {
      (void)store_.heartbeat(run_);
      return;
    }
    (void)store_.log_metrics(run_, pts_);
    pts_.clear();
  }

 private:
  ExperimentStore& store_;
  int64_t run_;
  std::vector<MetricPoint> pts_;
  double last_ = 0;
};

}  // namespace

std::string PretrainReport::to_json() const {
  Json ev = Json::array();
  for (const auto& e : evals) ev.push_back({{"step", e.step}, {"loss", e.loss}, {"perplexity", e.perplexity}});
  Json j = {{"run_id", run_id}, {"status", status}, {"out", out_dir}, {"parameters", parameters},
            {"device", device}, {"dtype", dtype},
            {"corpus", {{"files", files}, {"bytes", corpus_bytes}, {"tokens", corpus_tokens},
                        {"context", context}, {"train_chunks", train_chunks}, {"val_chunks", val_chunks}}},
            {"steps", steps}, {"total_steps", total_steps}, {"tokens_seen", tokens_seen},
            {"tokenize_seconds", tokenize_seconds}, {"train_seconds", train_seconds},
            {"eval_seconds", eval_seconds},
            {"tokens_per_s", tokens_per_s}, {"first_loss", first_loss}, {"final_loss", final_loss},
            {"evals", ev}};
  return j.dump(2);
}

Result<PretrainReport> run_pretrain(const PretrainConfig& cin, const PretrainCallbacks& cb) {
  PretrainConfig c = cin;
  if (c.tokenizer_dir.empty()) c.tokenizer_dir = c.model_dir;
  LW_TRY(check_config(c));
  LW_CHECK(!c.tokenizer_dir.empty(), "a tokenizer folder is required (--tokenizer DIR)");
  std::error_code ec;
  LW_CHECK(fs::is_directory(c.tokenizer_dir, ec),
           c.tokenizer_dir + ": not a folder (give the folder with vocab.json+merges.txt or tokenizer.json)");
  LW_ASSIGN_OR_RETURN(train::ScheduleKind kind, train::parse_schedule(c.schedule));
  LW_ASSIGN_OR_RETURN(Device device, detail::device_of(c.device));
  LW_ASSIGN_OR_RETURN(DType dtype, detail::dtype_of(c.dtype, device));
  LW_ASSIGN_OR_RETURN(auto tok, load_tokenizer(c.tokenizer_dir));

  // Data first: every input error before a run row or a model exists.
  const auto t_tok = std::chrono::steady_clock::now();
  LW_ASSIGN_OR_RETURN(std::vector<std::string> files, train::list_text_files(c.text));
  LW_ASSIGN_OR_RETURN(train::LmCorpus corpus, train::tokenize_corpus(files, *tok, cb.cancel));
  LW_ASSIGN_OR_RETURN(train::LmChunks chunks, train::pack_chunks(corpus.tokens, c.context, c.val_fraction));
  PretrainReport rep;
  rep.tokenize_seconds = seconds_since(t_tok);
  rep.files = int64_t(files.size());
  rep.corpus_bytes = corpus.bytes;
  rep.corpus_tokens = int64_t(corpus.tokens.size());
  rep.train_chunks = chunks.n_train;
  rep.val_chunks = chunks.n_val;
  rep.context = c.context;
  const int64_t per_step = c.batch * c.context;
  rep.total_steps = c.steps > 0 ? c.steps
                    : c.tokens > 0 ? (c.tokens + per_step - 1) / per_step
                                   : (chunks.n_train + c.batch - 1) / c.batch;
  if (cb.on_message)
    cb.on_message(std::to_string(files.size()) + " file(s), " + std::to_string(corpus.bytes) + " bytes, " +
                  std::to_string(corpus.tokens.size()) + " tokens in " + std::to_string(rep.tokenize_seconds) +
                  " s: " + std::to_string(chunks.n_train) + " training and " + std::to_string(chunks.n_val) +
                  " validation chunks of " + std::to_string(c.context) + " tokens; " +
                  std::to_string(rep.total_steps) + " steps of " + std::to_string(per_step) + " tokens");

  LW_ASSIGN_OR_RETURN(auto model, start_model(c, *tok, device, dtype));
  if (c.dropout > 0) LW_TRY(probe_dropout(*model, chunks, c.dropout));
  rep.parameters = model->num_parameters();
  rep.device = device.to_string();
  rep.dtype = dtype_name(dtype);
  rep.out_dir = c.out_dir;
  fs::create_directories(c.project_dir, ec);
  if (ec) return io_error(c.project_dir + ": cannot create the project folder (" + ec.message() + ")");
  LW_ASSIGN_OR_RETURN(auto store, ExperimentStore::open(c.project_dir));
  Json params = config_json(c);
  params["total_steps"] = rep.total_steps;
  params["parameters"] = rep.parameters;
  params["dtype_resolved"] = rep.dtype;
  params["corpus_tokens"] = rep.corpus_tokens;
  params["train_chunks"] = rep.train_chunks;
  params["val_chunks"] = rep.val_chunks;
  params["model_config"] = Json::parse(model->config_json());
  std::string dataset;
  for (const auto& t : c.text) dataset += (dataset.empty() ? "" : " | ") + t;
  RunSpec spec{"lm", c.run_name, c.model_dir.empty() ? "fresh GPT-2 " + std::to_string(rep.parameters) + " parameters" : c.model_dir,
               dataset, params.dump()};
  LW_ASSIGN_OR_RETURN(rep.run_id, store->create_run(spec));
  (void)store->record_system_info(rep.run_id, run_system_info(query_system()));
  auto fail = [&](const Status& st) -> Status {
    (void)store->finish_run(rep.run_id, st.code() == StatusCode::kCancelled ? RunStatus::kCancelled : RunStatus::kFailed,
                            st.message());
    return st;
  };

  Sink sink(*store, rep.run_id);
  train::LmTrainOptions o;
  o.steps = rep.total_steps;
  o.batch = c.batch;
  o.schedule.kind = kind;
  o.schedule.lr = c.lr;
  o.warmup_ratio = c.warmup_ratio;
  o.weight_decay = c.weight_decay;
  o.dropout = float(c.dropout);
  o.seed = c.seed;
  o.eval_every = c.eval_every;
  o.eval_max_chunks = c.eval_max_chunks;
  train::LmTrainHooks hooks;
  hooks.on_step = [&](const train::LmStepInfo& s) {
    sink.add(s.step, "train/loss", s.loss);
    sink.add(s.step, "train/lr", s.lr);
    sink.add(s.step, "train/grad_norm", s.grad_norm);
    sink.add(s.step, "train/tokens_per_s", s.tokens_per_s);
    sink.maybe_flush();
    if (cb.on_step)
      cb.on_step({s.step, s.total_steps, s.epoch, s.loss, s.lr, s.grad_norm, s.tokens_per_s, s.tokens_seen});
  };
  hooks.on_eval = [&](const train::LmEvalInfo& e) {
    sink.add(e.step, "eval/loss", e.loss);
    sink.add(e.step, "eval/perplexity", e.perplexity);
    sink.flush();
    rep.evals.push_back({e.step, e.loss, e.perplexity});
    if (cb.on_eval) cb.on_eval(rep.evals.back());
  };
  hooks.cancel = cb.cancel;
  auto res = train::train_lm(*model, chunks, o, hooks);
  sink.flush();
  if (!res.is_ok()) return fail(res.status());
  rep.steps = res->steps;
  rep.tokens_seen = res->tokens_seen;
  rep.train_seconds = res->seconds;
  rep.eval_seconds = res->eval_seconds;
  const double step_seconds = res->seconds - res->eval_seconds;
  rep.tokens_per_s = step_seconds > 0 ? double(res->tokens_seen) / step_seconds : 0;
  rep.first_loss = res->losses.front();
  rep.final_loss = res->losses.back();
  // The folder is written (atomically, tokenizer included) on a cancel too: the steps done
  // are kept, and the run says it was cancelled.
  Status st = train::save_checkpoint(*model, c.out_dir, c.tokenizer_dir);
  if (!st.is_ok()) return fail(st);
  (void)store->add_artifact(rep.run_id, "model", absolute(c.out_dir));
  rep.status = res->cancelled ? "cancelled" : "ok";
  LW_TRY(store->finish_run(rep.run_id, res->cancelled ? RunStatus::kCancelled : RunStatus::kOk));
  return rep;
}

}  // namespace lw::api
