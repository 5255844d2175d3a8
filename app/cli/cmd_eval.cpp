// `llmwb eval --model DIR --task classify|ner --data FILE`: scores a fine-tuned folder on a
// data file (accuracy / F1 / per-class or per-entity tables), the evaluation report's twin.
#include <cstdio>

#include "app/cli/command.h"
#include "engine/api/finetune.h"

namespace {

const char* kUsage =
    "Usage: llmwb eval --model DIR --task classify|ner --data FILE [--text-col NAME|N]\n"
    "           [--text-pair-col NAME|N] [--label-col NAME|N] [--header auto|yes|no] [--tag-col N]\n"
    "           [--max-len T]\n"
    "           [--batch B] [--device cpu|cuda:N] [--json]\n\n"
    "Evaluates a fine-tuned BERT folder (BertForSequenceClassification or\n"
    "BertForTokenClassification, labels from its config.json) on FILE: classification\n"
    "accuracy, macro/micro F1, per-class scores and the confusion matrix; NER entity-level\n"
    "precision/recall/F1 (seqeval strict) overall and per type.\n";

int run_eval(const std::vector<std::string>& argv) {
  const std::string cmd = "eval";
  lwcli::Args a;
  std::string err;
  if (!a.parse(argv, {"json"}, &err)) return lwcli::usage_error(cmd, err);
  auto unknown = a.unknown({"model", "task", "data", "text-col", "text-pair-col", "label-col", "header", "tag-col",
                            "max-len", "batch", "device", "json"});
  if (!unknown.empty()) return lwcli::usage_error(cmd, "unknown option --" + unknown[0]);
  if (!a.positional().empty()) return lwcli::usage_error(cmd, "unexpected argument '" + a.positional()[0] + "'");
  if (!a.has("model") || !a.has("data")) return lwcli::usage_error(cmd, "--model DIR and --data FILE are required");
  auto task = lw::api::parse_finetune_task(a.get("task", "classify"));
  if (!task.is_ok()) return lwcli::usage_error(cmd, task.status().message());
  lw::api::EvalRequest req;
  req.model_dir = a.get("model");
  req.task = *task;
  req.data_file = a.get("data");
  long long max_len, batch, tag_col;
  if (!a.get_int("max-len", 128, &max_len, &err) || !a.get_int("batch", 32, &batch, &err) ||
      !a.get_int("tag-col", -1, &tag_col, &err))
    return lwcli::usage_error(cmd, err);
  req.max_len = max_len;
  req.batch_size = int(batch);
  req.ner.tag_column = int(tag_col);
  if (a.has("text-col")) req.classify.text_column = lw::train::ColumnSpec::parse(a.get("text-col"));
  if (a.has("label-col")) req.classify.label_column = lw::train::ColumnSpec::parse(a.get("label-col"));
  auto header = lw::train::parse_header_mode(a.get("header", "auto"));
  if (!header.is_ok()) return lwcli::usage_error(cmd, "--header: " + header.status().message());
  req.classify.header = *header;
  if (a.has("text-pair-col")) {
    req.classify.has_text_pair = true;
    req.classify.text_pair_column = lw::train::ColumnSpec::parse(a.get("text-pair-col"));
  }
  req.device = a.get("device", "cpu");
  auto r = lw::api::evaluate_model(req);
  if (!r.is_ok()) return lwcli::fail(cmd, r.status().to_string());
  if (a.has("json")) {
    std::printf("%s\n", r->to_json().c_str());
    return 0;
  }
  std::printf("%s: loss %.5f\n", req.data_file.c_str(), r->metrics.loss);
  for (const auto& [k, v] : r->metrics.values) std::printf("  %-16s %.4f\n", k.c_str(), v);
  const auto& rows = r->classify_report ? r->classify_report->per_class : r->entity_report->per_type;
  std::printf("  %-20s %9s %9s %9s %8s\n", r->classify_report ? "class" : "entity", "precision", "recall", "f1", "support");
  for (const auto& s : rows)
    std::printf("  %-20s %9.4f %9.4f %9.4f %8lld\n", s.name.c_str(), s.precision, s.recall, s.f1, (long long)s.support);
  return 0;
}

const lwcli::CommandRegistration kRegistration({"eval", "evaluate a fine-tuned classifier or NER model on a data file",
                                                kUsage, run_eval});

}  // namespace
