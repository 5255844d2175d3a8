// Hugging Face folder -> Model: config.json's architectures / model_type pick the family and
// head; the checkpoint (single file or shards) fills the tensor table.
#include <sys/stat.h>

#include "engine/io/checkpoint.h"
#include "engine/io/hf_config.h"
#include "engine/models/bert.h"
#include "engine/models/gpt.h"
#include "engine/models/llama.h"
#include "engine/models/model.h"

namespace lw::models {

Result<std::unique_ptr<Model>> create_model(const io::HfConfig& config, const LoadOptions& opts) {
  const std::string arch = config.architecture();
  const std::string type = config.model_type();
  if (arch == "GPT2LMHeadModel" || arch == "GPT2Model" || (arch.empty() && type == "gpt2")) {
    LW_ASSIGN_OR_RETURN(GptConfig c, GptConfig::from_hf(config));
    return make_gpt(c, arch == "GPT2LMHeadModel" ? Head::kCausalLm : Head::kNone, opts.device,
                    opts.dtype);
  }
  if (arch == "BertForSequenceClassification" || arch == "BertForMaskedLM" ||
      arch == "BertForTokenClassification" || arch == "BertModel" ||
      (arch.empty() && type == "bert")) {
    LW_ASSIGN_OR_RETURN(BertConfig c, BertConfig::from_hf(config));
    Head head = arch == "BertForSequenceClassification" ? Head::kSequenceClassification
                : arch == "BertForTokenClassification"  ? Head::kTokenClassification
                : arch == "BertForMaskedLM"             ? Head::kMaskedLm
                                                        : Head::kNone;
    return make_bert(c, head, opts.device, opts.dtype);
  }
  if (is_llama_family(arch, type)) {
    LW_ASSIGN_OR_RETURN(LlamaConfig c, LlamaConfig::from_hf(config));
    return make_llama(c, opts.device, opts.dtype);
  }
  return unsupported(config.source() + ": architecture '" + arch + "' (model_type '" + type +
                     "') is not supported; known: GPT2LMHeadModel, GPT2Model, BertModel, "
                     "BertForSequenceClassification, BertForTokenClassification, BertForMaskedLM, "
                     "LlamaForCausalLM, "
                     "MistralForCausalLM, Qwen2ForCausalLM");
}

Result<std::unique_ptr<Model>> load_model(const std::string& dir, const LoadOptions& opts) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return not_found(dir + ": not a model folder (expected config.json and safetensors weights)");
  LW_ASSIGN_OR_RETURN(io::HfConfig config, io::HfConfig::read(dir + "/config.json"));
  LW_ASSIGN_OR_RETURN(std::unique_ptr<Model> model, create_model(config, opts));
  LW_ASSIGN_OR_RETURN(io::Checkpoint ckpt, io::Checkpoint::open(dir));
  LW_TRY(model->load(ckpt));
  return model;
}

}  // namespace lw::models
