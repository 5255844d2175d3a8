// `llmwb attention`: the Attention page on the command line, through engine/api/attention.h.
// Captures the attention probabilities of the chosen layers and heads for a text (or ids) and
// writes them as safetensors (attn.<layer> [H,T,T], rollout, tokens in the metadata), CSV (one
// row per weight) or PNG (the layers x heads grid, or one head when one is chosen).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "app/cli/command.h"
#include "app/cli/png_writer.h"
#include "engine/api/attention.h"
#include "engine/core/device.h"
#include "engine/io/safetensors.h"

namespace {

using Json = nlohmann::ordered_json;
constexpr const char* kCmd = "attention";

const char* kUsage =
    "Usage: llmwb attention --model DIR (--text T | --ids 1,2,3 [--mask 1,1,0])\n"
    "         [--layers 0,3-5] [--heads 0,1] --out FILE.safetensors|.csv|.png ...\n"
    "         [--budget-mib N] [--device cpu|cuda:0] [--json]\n"
    "\n"
    "Captures attention probabilities (one forward pass) and writes them.\n"
    "\n"
    "  --model DIR        model folder (config.json, safetensors; tokenizer files for --text)\n"
    "  --text T           text, encoded with the folder's tokenizer (special tokens added)\n"
    "  --ids LIST         token ids, comma-separated (no tokenizer needed)\n"
    "  --mask LIST        with --ids: 1 = token, 0 = padding, one per id\n"
    "  --layers LIST      layers to capture, e.g. 0,3-5 (default: all)\n"
    "  --heads LIST       heads to keep (default: all)\n"
    "  --out FILE         repeatable; the extension picks the format:\n"
    "                       .safetensors  attn.<layer> [H,T,T] f32, rollout [L,T,T], ids [T];\n"
    "                                     metadata: tokens, special, layers, heads (JSON lists)\n"
    "                       .csv          layer,head,query,key,query_token,key_token,weight\n"
    "                       .png          layers x heads grid (viridis, masked cells grey), or\n"
    "                                     one large map when one layer and one head are chosen\n"
    "  --budget-mib N     capture memory allowed (default 2048); longer inputs are refused\n"
    "                     with the largest length that fits\n"
    "  --json             print a summary: tokens, shapes, timing, files\n"
    "\n"
    "Errors go to stderr; the exit code is 1 on failure, 2 on a usage error.";

std::string extension(const std::string& path) {
  const size_t dot = path.rfind('.');
  return dot == std::string::npos ? "" : path.substr(dot);
}

std::string json_list(const auto& v) {
  return Json(v).dump();
}

lw::Status write_safetensors(const std::string& path, const lw::api::AttentionCapture& c) {
  const int64_t H = c.n_head(), T = c.n_tok, TT = T * T;
  std::vector<lw::io::StTensorData> tensors;
  std::vector<std::string> names;
  for (int64_t li = 0; li < c.n_layer(); ++li)
    tensors.push_back({"attn." + std::to_string(c.layers[size_t(li)]),
                       lw::io::StDtype::kF32,
                       {H, T, T},
                       c.probs.data() + li * H * TT,
                       uint64_t(H * TT) * sizeof(float)});
  tensors.push_back({"rollout",
                     lw::io::StDtype::kF32,
                     {c.n_layer(), T, T},
                     c.rollout.values.data(),
                     c.rollout.values.size() * sizeof(float)});
  tensors.push_back(
      {"ids", lw::io::StDtype::kI32, {T}, c.ids.data(), c.ids.size() * sizeof(int32_t)});
  return lw::io::write_safetensors(path, tensors,
                                   {{"architecture", c.architecture},
                                    {"causal", c.causal ? "true" : "false"},
                                    {"tokens", json_list(c.tokens)},
                                    {"special", json_list(c.special)},
                                    {"key_valid", json_list(c.key_valid)},
                                    {"layers", json_list(c.layers)},
                                    {"heads", json_list(c.heads)}});
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos &&
      (s.empty() || (s.front() != ' ' && s.back() != ' ')))
    return s;
  std::string q = "\"";
  for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}

lw::Status write_csv(const std::string& path, const lw::api::AttentionCapture& c) {
  std::string out = "layer,head,query,key,query_token,key_token,weight\n";
  std::vector<std::string> tok;
  for (const auto& t : c.tokens) tok.push_back(csv_field(t));
  char num[32];
  for (int64_t li = 0; li < c.n_layer(); ++li)
    for (int64_t hi = 0; hi < c.n_head(); ++hi)
      for (int64_t q = 0; q < c.n_tok; ++q)
        for (int64_t k = 0; k < c.n_tok; ++k) {
          std::snprintf(num, sizeof num, "%.9g", double(c.at(li, hi, q, k)));
          out += std::to_string(c.layers[size_t(li)]) + ',' + std::to_string(c.heads[size_t(hi)]) +
                 ',' + std::to_string(q) + ',' + std::to_string(k) + ',' + tok[size_t(q)] + ',' +
                 tok[size_t(k)] + ',' + num + '\n';
        }
  return lw::io::write_file_atomic(path, out);
}

// The grid: one tile of T x T cells (each `scale` pixels) per layer (row) and head (column),
// a shared colour range [0, max], masked cells grey, "L<layer>" / "H<head>" labels in a pixel
// font, and a colour bar on the right.
struct PngInfo {
  int width = 0, height = 0, scale = 1, margin = 8, gap = 6;
  int x0 = 0, y0 = 0;  // top-left of the first tile
  double hi = 1;
};

lw::Status write_png(const std::string& path, const lw::api::AttentionCapture& c, PngInfo* info) {
  const int L = int(c.n_layer()), H = int(c.n_head()), T = int(c.n_tok);
  const bool single = L == 1 && H == 1;
  const int target = single ? 512 : 96;  // pixels per tile side to aim for
  info->scale = std::clamp(target / T, 1, 32);
  float hi = 0;
  for (float v : c.probs) hi = std::max(hi, v);
  info->hi = hi > 0 ? hi : 1;
  const int tile = T * info->scale, m = info->margin, gap = info->gap, bar = 14, font = 2;
  const int label_w = int(("L" + std::to_string(c.layers.back())).size()) * 4 * font;
  info->x0 = m + label_w + 4;
  info->y0 = m + 5 * font + 4;
  info->width = info->x0 + H * tile + (H - 1) * gap + gap + bar + m;
  info->height = info->y0 + L * tile + (L - 1) * gap + m;
  LW_CHECK(int64_t(info->width) * info->height <= (int64_t(1) << 28),
           "the PNG would be " + std::to_string(info->width) + " x " +
               std::to_string(info->height) +
               " pixels: choose fewer layers or heads (--layers, --heads)");
  lwcli::RgbImage img(info->width, info->height);
  for (int li = 0; li < L; ++li)
    for (int hi_ = 0; hi_ < H; ++hi_) {
      const int x0 = info->x0 + hi_ * (tile + gap), y0 = info->y0 + li * (tile + gap);
      for (int q = 0; q < T; ++q)
        for (int k = 0; k < T; ++k) {
          const uint32_t col =
              c.masked(q, k) ? lwcli::kMaskColor : lwcli::viridis(c.at(li, hi_, q, k) / info->hi);
          img.fill_rect(x0 + k * info->scale, y0 + q * info->scale, info->scale, info->scale, col);
        }
    }
  const uint32_t ink = 0x404040;
  for (int hi_ = 0; hi_ < H; ++hi_) {
    const std::string text = "H" + std::to_string(c.heads[size_t(hi_)]);
    const int w = int(text.size()) * 4 * font - font;
    lwcli::draw_label(&img, info->x0 + hi_ * (tile + gap) + (tile - w) / 2, m, text, font, ink);
  }
  for (int li = 0; li < L; ++li)
    lwcli::draw_label(&img, m, info->y0 + li * (tile + gap) + (tile - 5 * font) / 2,
                      "L" + std::to_string(c.layers[size_t(li)]), font, ink);
  const int bx = info->width - m - bar, bh = info->height - info->y0 - m;
  for (int y = 0; y < bh; ++y)
    img.fill_rect(bx, info->y0 + y, bar, 1, lwcli::viridis(1.0 - double(y) / std::max(1, bh - 1)));
  const std::string bytes = lwcli::encode_png(img);
  LW_CHECK(!bytes.empty(), path + ": zlib could not compress the image");
  return lw::io::write_file_atomic(path, bytes);
}

int run_attention(const std::vector<std::string>& argv) {
  lwcli::Args args;
  std::string error;
  if (!args.parse(argv, {"json"}, &error)) return lwcli::usage_error(kCmd, error);
  if (auto bad = args.unknown({"model", "text", "ids", "mask", "layers", "heads", "out",
                               "budget-mib", "device", "json"});
      !bad.empty())
    return lwcli::usage_error(kCmd, "unknown option --" + bad.front());
  if (!args.positional().empty())
    return lwcli::usage_error(kCmd, "unexpected argument '" + args.positional().front() + "'");
  if (!args.has("model")) return lwcli::usage_error(kCmd, "--model is required");
  if (args.has("text") == args.has("ids"))
    return lwcli::usage_error(kCmd, "give exactly one of --text and --ids");
  if (args.has("mask") && !args.has("ids"))
    return lwcli::usage_error(kCmd, "--mask goes with --ids");
  const std::vector<std::string> outs = args.values("out");
  if (outs.empty()) return lwcli::usage_error(kCmd, "--out is required");
  for (const auto& o : outs) {
    const std::string e = extension(o);
    if (e != ".safetensors" && e != ".csv" && e != ".png")
      return lwcli::usage_error(
          kCmd, "--out " + o + ": the extension must be .safetensors, .csv or .png");
  }
  lw::api::AttentionRequest req;
  req.text = args.get("text");
  std::vector<int32_t> mask;
  if (args.has("ids") && !lwcli::parse_id_list(args.get("ids"), "--ids", &req.ids, &error))
    return lwcli::usage_error(kCmd, error);
  if (args.has("mask") && !lwcli::parse_id_list(args.get("mask"), "--mask", &mask, &error, "0 or 1"))
    return lwcli::usage_error(kCmd, error);
  for (int32_t v : mask) {
    if (v > 1) return lwcli::usage_error(kCmd, "--mask takes 0 and 1 only");
    req.key_valid.push_back(uint8_t(v));
  }
  for (const char* list : {"layers", "heads"}) {
    if (!args.has(list)) continue;
    auto v = lw::api::parse_index_list(args.get(list), std::string("--") + list);
    if (!v.is_ok()) return lwcli::usage_error(kCmd, v.status().message());
    (std::string(list) == "layers" ? req.layers : req.heads) = *v;
  }
  long long budget = 0;
  if (!args.get_int("budget-mib", 2048, &budget, &error)) return lwcli::usage_error(kCmd, error);
  if (budget < 1) return lwcli::usage_error(kCmd, "--budget-mib must be at least 1");
  req.memory_budget_bytes = uint64_t(budget) << 20;
  auto device = lw::parse_device(args.get("device", "cpu"));
  if (!device.is_ok()) return lwcli::usage_error(kCmd, device.status().message());

  auto model = lw::api::load_attention_model(args.get("model"), {*device, lw::DType::kF32});
  if (!model.is_ok()) return lwcli::fail(kCmd, model.status().to_string());
  auto cap = lw::api::capture_attention(**model, req);
  if (!cap.is_ok()) return lwcli::fail(kCmd, cap.status().to_string());

  const auto t0 = std::chrono::steady_clock::now();
  Json files = Json::array();
  for (const auto& o : outs) {
    const std::string e = extension(o);
    PngInfo png;
    lw::Status st = e == ".csv"   ? write_csv(o, *cap)
                    : e == ".png" ? write_png(o, *cap, &png)
                                  : write_safetensors(o, *cap);
    if (!st.is_ok()) return lwcli::fail(kCmd, st.to_string());
    Json f = {{"path", o}, {"format", e.substr(1)}};
    if (e == ".png")
      f["png"] = {
          {"width", png.width},      {"height", png.height},          {"cell_px", png.scale},
          {"margin_px", png.margin}, {"origin_px", {png.x0, png.y0}}, {"gap_px", png.gap},
          {"range", {0.0, png.hi}}};
    files.push_back(f);
  }
  const double write_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

  if (args.has("json")) {
    Json shapes = Json::object();
    for (int64_t l : cap->layers)
      shapes["attn." + std::to_string(l)] = {cap->n_head(), cap->n_tok, cap->n_tok};
    Json j = {{"model", args.get("model")},
              {"architecture", cap->architecture},
              {"causal", cap->causal},
              {"n_tok", cap->n_tok},
              {"tokens", cap->tokens},
              {"ids", cap->ids},
              {"special", cap->special},
              {"key_valid", cap->key_valid},
              {"layers", cap->layers},
              {"heads", cap->heads},
              {"shapes", shapes},
              {"capture_bytes", cap->capture_bytes},
              {"timing_ms",
               {{"encode", cap->encode_ms},
                {"capture", cap->capture_ms},
                {"views", cap->views_ms},
                {"write", write_ms}}},
              {"files", files}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("%s: %lld tokens, %zu layers x %zu heads captured in %.1f ms\n",
                cap->architecture.c_str(), (long long)cap->n_tok, cap->layers.size(),
                cap->heads.size(), cap->capture_ms);
    for (const auto& o : outs) std::printf("wrote %s\n", o.c_str());
  }
  return 0;
}

const lwcli::CommandRegistration kRegistration(
    {kCmd, "capture attention probabilities and write them (safetensors, CSV, PNG)", kUsage,
     run_attention});

}  // namespace
