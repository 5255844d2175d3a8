// The generation loop (see generator.h). Each sequence owns a KvCache sized to
// min(context, prompt + max_new_tokens), a Sampler (its batch index seeds its draws) and
// StopRules. Streamed text comes from decoding the generated ids as a whole and passing
// on what grew, held back while it ends in an incomplete character (U+FFFD), so byte-level
// BPE never splits a multi-byte character and decoders that look at neighbours stay right.
// On CUDA, supported causal-LM families decode through DecodeEngine (one graph replay per
// round for the whole batch; greedy without penalties or alternatives reads back one id per
// sequence); everything else takes the per-sequence path, the engine's reference.
#include "engine/generate/generator.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string_view>

#include "engine/generate/decode_engine.h"
#include "engine/generate/kv_cache.h"

namespace lw {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct Sequence {
  std::optional<KvCache> cache;
  std::optional<Sampler> sampler;
  std::optional<StopRules> stop;
  std::vector<int32_t> all;  // prompt + generated
  std::string decoded;       // generated text already handed to the stop rules
  SequenceResult out;
  bool done = false;
};

class Loop {
 public:
  Loop(models::Model& model, const Tokenizer* tok, const GenerateRequest& req,
       const GenerateCallbacks& cb)
      : model_(model), tok_(tok), req_(req), cb_(cb) {}
  Result<GenerateResult> run();

 private:
  Status setup(const models::KvLayout& layout);
  Status setup_engine();
  Result<Tensor> forward(Sequence& s, size_t new_tokens);
  Status engine_round(int64_t* produced);
  bool device_greedy() const;
  bool may_continue() const;
  Status step(size_t i, const Tensor& logits);
  Status step_row(size_t i, std::span<const float> row);
  Status accept(size_t i, SampleResult r);
  Result<std::string> next_text(Sequence& s, bool final);
  bool ends_here(const Sequence& s, int32_t id) const;
  void finish(size_t i, FinishReason reason);
  bool cancelled() const { return cb_.cancel && cb_.cancel(); }

  models::Model& model_;
  const Tokenizer* tok_;
  const GenerateRequest& req_;
  const GenerateCallbacks& cb_;
  int64_t context_ = 0;
  int64_t vocab_ = 0;
  std::vector<Sequence> seqs_;
  std::vector<float> row_;  // [V] host logits
  std::unique_ptr<DecodeEngine> engine_;  // CUDA decode path, when the model has one
  std::vector<int32_t> step_tokens_, step_positions_;
};

Status Loop::setup(const models::KvLayout& layout) {
  LW_CHECK(!req_.prompts.empty(), "generate needs at least one prompt");
  LW_TRY(req_.params.validate());
  LW_CHECK(tok_ || req_.params.stop.empty(),
           "stop strings need the model's tokenizer (none was loaded)");
  context_ = layout.max_positions;
  seqs_.resize(req_.prompts.size());
  for (size_t i = 0; i < seqs_.size(); ++i) {
    const auto& prompt = req_.prompts[i];
    const int64_t n = static_cast<int64_t>(prompt.size());
    std::string which = seqs_.size() > 1 ? "prompt " + std::to_string(i) : "the prompt";
    LW_CHECK(n >= 1, which + " is empty");
    LW_CHECK(n < context_, which + " has " + std::to_string(n) +
                               " tokens; the model's context holds " + std::to_string(context_) +
                               " (n_positions), leaving no room to generate");
    Sequence& s = seqs_[i];
    s.all = prompt;
    s.out.prompt = prompt;
    LW_ASSIGN_OR_RETURN(Sampler sampler, Sampler::create(req_.params, static_cast<uint32_t>(i)));
    s.sampler.emplace(std::move(sampler));
    LW_ASSIGN_OR_RETURN(StopRules stop, StopRules::create(req_.params, req_.eos_token_ids));
    s.stop.emplace(std::move(stop));
  }
  if (!req_.use_kv_cache) return Status::ok();
  LW_TRY(setup_engine());
  if (engine_) return Status::ok();
  for (Sequence& s : seqs_) {
    const int64_t n = static_cast<int64_t>(s.all.size());
    int64_t cap = std::min<int64_t>(context_, n + req_.params.max_new_tokens);
    LW_ASSIGN_OR_RETURN(KvCache c, KvCache::create(layout, cap, model_.device(), model_.dtype()));
    s.cache.emplace(std::move(c));
  }
  return Status::ok();
}

// The CUDA decode engine for the whole batch; a model it does not cover (kUnsupported)
// keeps the per-sequence caches.
Status Loop::setup_engine() {
  if (!model_.device().is_cuda()) return Status::ok();
  int64_t cap = 1;
  for (const Sequence& s : seqs_)
    cap = std::max<int64_t>(cap, std::min<int64_t>(context_, static_cast<int64_t>(s.all.size()) +
                                                                 req_.params.max_new_tokens));
  auto e = DecodeEngine::create(model_, static_cast<int64_t>(seqs_.size()), cap);
  if (e.is_ok()) {
    engine_ = std::move(*e);
    return Status::ok();
  }
  return e.status().code() == StatusCode::kUnsupported ? Status::ok() : e.status();
}

// Greedy with nothing that needs the whole row (penalties, alternatives): the engine's
// on-device argmax and log-probability are the sampler's answer.
bool Loop::device_greedy() const {
  const auto& p = req_.params;
  return p.is_greedy() && p.repetition_penalty == 1.0f && p.presence_penalty == 0.0f &&
         p.frequency_penalty == 0.0f && p.top_logprobs == 0;
}

// Whether some live sequence may still want a token after this round's (it does not end by
// length here; an end-of-sequence or stop string cannot be known yet).
bool Loop::may_continue() const {
  return std::any_of(seqs_.begin(), seqs_.end(), [&](const Sequence& s) {
    return !s.done && static_cast<int64_t>(s.out.ids.size()) + 1 < req_.params.max_new_tokens &&
           static_cast<int64_t>(s.all.size()) + 1 < context_;
  });
}

// One engine step for every sequence (finished ones ride along at their last position, or
// past it on the greedy pipeline, where their tokens are not read).
// Greedy on the device: while the host takes this round's ids, the next round already runs
// on the GPU, fed from them (DecodeEngine::launch_next), so the GPU does not wait for the
// host between rounds; a round launched for sequences that then end is drained, not read.
Status Loop::engine_round(int64_t* produced) {
  const size_t n = seqs_.size();
  const bool greedy = device_greedy();
  if (engine_->queued() == 0) {
    step_tokens_.resize(n);
    step_positions_.resize(n);
    for (size_t i = 0; i < n; ++i) {
      const Sequence& s = seqs_[i];
      step_tokens_[i] = s.all.back();
      step_positions_[i] = static_cast<int32_t>(
          std::min<int64_t>(static_cast<int64_t>(s.all.size()) - 1, engine_->capacity() - 1));
    }
    LW_TRY(engine_->launch(step_tokens_, step_positions_));
  }
  if (greedy && engine_->queued() == 1 && may_continue()) LW_TRY(engine_->launch_next());
  LW_TRY(engine_->wait());
  for (size_t i = 0; i < n; ++i) {
    if (seqs_[i].done) continue;
    if (greedy) {
      SampleResult r;
      r.token.id = engine_->greedy_ids()[i];
      if (req_.params.logprobs) r.token.logprob = r.token.raw_logprob = engine_->greedy_logprobs()[i];
      Sampler& sm = *seqs_[i].sampler;
      sm.set_step(sm.step() + 1);
      LW_TRY(accept(i, std::move(r)));
    } else {
      LW_TRY(engine_->logits_row(static_cast<int64_t>(i), row_));
      LW_TRY(step_row(i, row_));
    }
    ++*produced;
  }
  return Status::ok();
}

// Logits [1,V] of the last position after feeding the last `new_tokens` ids of s.all.
Result<Tensor> Loop::forward(Sequence& s, size_t new_tokens) {
  if (engine_) {  // prefill only: the decode rounds go through engine_round()
    LW_ASSERT(new_tokens == s.all.size());
    return engine_->prefill(&s - seqs_.data(), s.all);
  }
  if (s.cache) {
    const int64_t past = s.cache->length();
    std::vector<int32_t> ids(s.all.end() - static_cast<std::ptrdiff_t>(new_tokens), s.all.end());
    LW_ASSIGN_OR_RETURN(Tensor t, Tensor::from_ints(ids, {1, int64_t(new_tokens)}, model_.device()));
    LW_ASSIGN_OR_RETURN(Tensor logits, model_.forward_cached(t, past, s.cache->layers()));
    LW_TRY(s.cache->set_length(past + static_cast<int64_t>(new_tokens)));
    return logits;
  }
  const int64_t n = static_cast<int64_t>(s.all.size());
  models::Batch batch;
  LW_ASSIGN_OR_RETURN(batch.input_ids, Tensor::from_ints(s.all, {1, n}, model_.device()));
  LW_ASSIGN_OR_RETURN(models::ForwardResult r, model_.forward(batch, {}));
  LW_CHECK(r.logits.defined() && r.logits.dim() == 3,
           model_.architecture() + " has no language-model head to generate with");
  LW_ASSIGN_OR_RETURN(Tensor rows, r.logits.reshape({n, r.logits.size(2)}));
  return rows.slice(n - 1, 1);
}

bool Loop::ends_here(const Sequence& s, int32_t id) const {
  const auto& p = req_.params;
  auto in = [id](const std::vector<int32_t>& v) {
    return std::find(v.begin(), v.end(), id) != v.end();
  };
  return (!p.ignore_eos && in(req_.eos_token_ids)) || in(p.stop_token_ids) ||
         static_cast<int64_t>(s.out.ids.size()) >= p.max_new_tokens ||
         static_cast<int64_t>(s.all.size()) >= context_;
}

Result<std::string> Loop::next_text(Sequence& s, bool final) {
  if (!tok_) return std::string();
  LW_ASSIGN_OR_RETURN(std::string full, tok_->decode(s.out.ids, /*skip_special_tokens=*/true));
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  if (!final && full.size() >= 3 && std::string_view(full).substr(full.size() - 3) == kReplacement)
    return std::string();  // an incomplete character: wait for its next bytes
  if (full.size() <= s.decoded.size()) return std::string();
  std::string delta = full.substr(s.decoded.size());
  s.decoded = std::move(full);
  return delta;
}

// Samples from one sequence's logits, streams the token and applies the stop rules.
Status Loop::step(size_t i, const Tensor& logits) {
  std::span<const float> row;
  if (logits.dtype() == DType::kF32 && logits.device().is_cpu() && logits.is_contiguous()) {
    row = {logits.data<float>(), static_cast<size_t>(logits.numel())};
  } else {
    LW_ASSIGN_OR_RETURN(row_, logits.to_float_vector());
    row = row_;
  }
  return step_row(i, row);
}

Status Loop::step_row(size_t i, std::span<const float> row) {
  Sequence& s = seqs_[i];
  if (vocab_ == 0) {
    vocab_ = static_cast<int64_t>(row.size());
    LW_TRY(req_.params.validate_for_vocab(vocab_));
  }
  std::span<const int32_t> gen(s.all.data() + s.out.prompt.size(), s.out.ids.size());
  LW_ASSIGN_OR_RETURN(SampleResult r, s.sampler->sample(row, s.out.prompt, gen));
  return accept(i, std::move(r));
}

// Records the chosen token, streams it and applies the stop rules.
Status Loop::accept(size_t i, SampleResult r) {
  Sequence& s = seqs_[i];
  GeneratedToken t{r.token.id, r.token.logprob, r.token.raw_logprob, std::move(r.top), {}};
  s.out.ids.push_back(t.id);
  s.all.push_back(t.id);
  LW_ASSIGN_OR_RETURN(std::string bytes, next_text(s, ends_here(s, t.id)));
  StopStep st = s.stop->push(t.id, bytes);
  if (!st.done() && static_cast<int64_t>(s.all.size()) >= context_) {
    StopStep end = s.stop->end(FinishReason::kLength);  // the context is full
    st.text += end.text;
    st.finish = end.finish;
  }
  t.text = std::move(st.text);
  s.out.text += t.text;
  s.out.tokens.push_back(std::move(t));
  if (st.done()) {
    s.done = true;
    s.out.finish = st.finish;
    s.out.matched_stop = s.stop->matched_stop();
  }
  if (cb_.on_token) {
    StreamEvent ev{i, static_cast<int64_t>(s.out.tokens.size()) - 1, &s.out.tokens.back(),
                   s.out.finish, s.out.tokens.back().text};
    cb_.on_token(ev);
  }
  return Status::ok();
}

void Loop::finish(size_t i, FinishReason reason) {
  Sequence& s = seqs_[i];
  if (s.done) return;
  StopStep st = s.stop->end(reason);
  s.out.text += st.text;
  s.out.finish = st.finish;
  s.done = true;
  if (cb_.on_token) {
    StreamEvent ev{i, static_cast<int64_t>(s.out.tokens.size()), nullptr, st.finish, st.text};
    cb_.on_token(ev);
  }
}

Result<GenerateResult> Loop::run() {
  const auto t0 = Clock::now();
  LW_ASSIGN_OR_RETURN(models::KvLayout layout, model_.kv_layout());
  LW_TRY(setup(layout));
  GenerateResult res;
  // Prefill: every prompt through the model, first token sampled.
  bool stop = false;
  for (size_t i = 0; i < seqs_.size() && !stop; ++i) {
    if ((stop = cancelled())) break;
    const auto tp = Clock::now();
    LW_ASSIGN_OR_RETURN(Tensor logits, forward(seqs_[i], seqs_[i].all.size()));
    res.timing.prefill_s += seconds_since(tp);
    res.timing.prefill_tokens += static_cast<int64_t>(seqs_[i].all.size());
    LW_TRY(step(i, logits));
  }
  res.timing.time_to_first_token_s = seconds_since(t0);
  // Decode: one token per live sequence per round.
  const auto td = Clock::now();
  for (bool live = !stop; live && !stop;) {
    live = false;
    if (engine_) {
      if (std::all_of(seqs_.begin(), seqs_.end(), [](const Sequence& s) { return s.done; })) break;
      if ((stop = cancelled())) break;
      LW_TRY(engine_round(&res.timing.decode_tokens));
      for (const Sequence& s : seqs_) live = live || !s.done;
      continue;
    }
    for (size_t i = 0; i < seqs_.size(); ++i) {
      if (seqs_[i].done) continue;
      if ((stop = cancelled())) break;
      LW_ASSIGN_OR_RETURN(Tensor logits, forward(seqs_[i], 1));
      LW_TRY(step(i, logits));
      ++res.timing.decode_tokens;
      live = live || !seqs_[i].done;
    }
  }
  if (engine_) LW_TRY(engine_->drain());  // a round launched ahead for sequences that ended
  res.timing.decode_s = seconds_since(td);
  for (size_t i = 0; i < seqs_.size(); ++i) finish(i, FinishReason::kCancelled);
  for (auto& s : seqs_) {
    if (s.cache) res.kv_cache_bytes += s.cache->nbytes();
    if (engine_) res.kv_cache_bytes = engine_->kv_cache_bytes();
    res.sequences.push_back(std::move(s.out));
  }
  return res;
}

}  // namespace

Result<GenerateResult> generate(models::Model& model, const Tokenizer* tokenizer,
                                const GenerateRequest& request, const GenerateCallbacks& callbacks) {
  LW_CHECK(model.head() == models::Head::kCausalLm,
           model.architecture() + " has no language-model head to generate with");
  Loop loop(model, tokenizer, request, callbacks);
  return loop.run();
}

}  // namespace lw
