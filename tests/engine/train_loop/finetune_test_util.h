// Small fixtures for the fine-tuning tests: a WordPiece vocabulary and tiny classification
// / NER files written into a temporary folder, a one-layer random-init config, and the
// weights of a checkpoint folder as floats (to compare runs exactly).
#pragma once
#include <QString>
#include <QTemporaryDir>
#include <QTest>

#include <fstream>
#include <string>
#include <vector>

#include "engine/api/finetune.h"
#include "engine/io/safetensors.h"
#include "engine/io/checkpoint.h"

namespace fttest {

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

inline const std::vector<std::string>& words() {
  static const std::vector<std::string> w = {
      "play", "music", "by", "the", "beatles", "book", "a", "table", "for", "two", "in", "paris",
      "what", "is", "weather", "london", "tomorrow", "rate", "this", "novel", "five", "stars",
      "add", "song", "to", "my", "playlist", "jazz", "rome", "sunny"};
  return w;
}

// [PAD] [UNK] [CLS] [SEP] [MASK], the words, and single letters with ## forms.
inline void write_vocab(const std::string& dir) {
  std::string v = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
  for (const auto& w : words()) v += w + "\n";
  for (char c = 'a'; c <= 'z'; ++c) v += std::string(1, c) + "\n##" + std::string(1, c) + "\n";
  write_file(dir + "/vocab.txt", v);
  write_file(dir + "/tokenizer_config.json", R"({"do_lower_case": true})");
}

// Three intents, `n` rows, deterministic.
inline std::string classify_tsv(int n, int offset = 0) {
  const char* rows[][2] = {{"play music by the beatles", "music"},
                           {"play jazz music", "music"},
                           {"add song to my playlist", "music"},
                           {"book a table for two in paris", "book"},
                           {"book a table in rome", "book"},
                           {"what is the weather in london tomorrow", "weather"},
                           {"is it sunny in rome", "weather"},
                           {"what is weather in paris", "weather"}};
  std::string s = "text\tlabel\n";
  for (int i = 0; i < n; ++i) {
    const auto& r = rows[(i + offset) % 8];
    s += std::string(r[0]) + "\t" + r[1] + "\n";
  }
  return s;
}

inline std::string ner_conll(int n, int offset = 0) {
  const char* sents[] = {"play\tO\nmusic\tO\nby\tO\nthe\tB-artist\nbeatles\tI-artist\n",
                         "book\tO\na\tO\ntable\tO\nin\tO\nparis\tB-city\n",
                         "what\tO\nis\tO\nweather\tO\nin\tO\nlondon\tB-city\ntomorrow\tB-date\n",
                         "play\tO\njazz\tB-genre\nin\tO\nrome\tB-city\n"};
  std::string s;
  for (int i = 0; i < n; ++i) s += std::string(sents[(i + offset) % 4]) + "\n";
  return s;
}

inline lw::api::FinetuneConfig tiny_config(const std::string& dir, lw::api::FinetuneTask task) {
  lw::api::FinetuneConfig c;
  c.task = task;
  c.random_init.vocab_dir = dir;
  c.random_init.n_layer = 1;
  c.random_init.hidden = 64;
  c.random_init.max_positions = 64;
  const bool ner = task == lw::api::FinetuneTask::kNer;
  c.files.train = dir + (ner ? "/train.conll" : "/train.tsv");
  c.files.validation = dir + (ner ? "/dev.conll" : "/dev.tsv");
  c.max_len = 16;
  c.epochs = 2;
  c.batch_size = 4;
  c.lr = 2e-3;
  c.warmup_ratio = 0.2;
  c.eval_every = 3;
  c.project_dir = dir + "/project";
  return c;
}

inline void write_tiny_data(const std::string& dir) {
  write_vocab(dir);
  write_file(dir + "/train.tsv", classify_tsv(24));
  write_file(dir + "/dev.tsv", classify_tsv(8, 3));
  write_file(dir + "/train.conll", ner_conll(20));
  write_file(dir + "/dev.conll", ner_conll(8, 1));
}

// Every tensor of dir/model.safetensors as floats, by name.
inline std::vector<std::pair<std::string, std::vector<float>>> weights(const std::string& dir) {
  std::vector<std::pair<std::string, std::vector<float>>> out;
  auto f = lw::io::SafeTensorsFile::open(dir + "/model.safetensors");
  if (!f.is_ok()) {
    QTest::qFail(("cannot open " + dir + ": " + f.status().to_string()).c_str(), __FILE__, __LINE__);
    return out;
  }
  for (const auto& t : f->tensors()) {
    std::vector<float> v(size_t(t.numel));
    (void)lw::io::copy_as_f32(t.name, t.dtype, f->data(t), t.numel, v.data());
    out.push_back({t.name, std::move(v)});
  }
  return out;
}

}  // namespace fttest
