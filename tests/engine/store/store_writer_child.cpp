// A training process in miniature for the durability test: creates a run and
// logs metric batches in a loop, printing "batch <i>" after each batch is
// committed, until it is killed (or has written max_batches).
// Usage: store_writer_child PROJECT_DIR POINTS_PER_BATCH [MAX_BATCHES]
#include <cstdio>
#include <cstdlib>
#include <string>

#include "engine/api/experiment_store.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: store_writer_child PROJECT_DIR POINTS_PER_BATCH [MAX_BATCHES]\n");
    return 2;
  }
  int points = std::atoi(argv[2]);
  long max_batches = argc > 3 ? std::atol(argv[3]) : -1;
  auto store = lw::ExperimentStore::open(argv[1]);
  if (!store.is_ok()) {
    std::fprintf(stderr, "%s\n", store.status().to_string().c_str());
    return 1;
  }
  auto id = (*store)->create_run({"causal-lm", "child", "tiny", "data", "{}"});
  if (!id.is_ok()) {
    std::fprintf(stderr, "%s\n", id.status().to_string().c_str());
    return 1;
  }
  std::printf("run %lld\n", (long long)*id);
  std::fflush(stdout);
  for (long b = 0; max_batches < 0 || b < max_batches; ++b) {
    std::vector<lw::MetricPoint> batch;
    for (int k = 0; k < points; ++k)
      batch.push_back({b, "m" + std::to_string(k), double(b) + k / 1000.0, 0});
    lw::Status st = (*store)->log_metrics(*id, batch);
    if (!st.is_ok()) {
      std::fprintf(stderr, "%s\n", st.to_string().c_str());
      return 1;
    }
    std::printf("batch %ld\n", b);
    std::fflush(stdout);
  }
  return 0;
}
