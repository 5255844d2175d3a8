// The caching device allocator: steady-state reuse without cudaMalloc, size classes,
// per-stream free lists, statistics (in use / reserved / peak), copies and fills, and
// out-of-memory reported as StatusCode::kOutOfMemory naming the bytes asked for.
#include <QtTest/QtTest>

#include "engine/backend/cuda/caching_allocator.h"
#include "engine/backend/cuda/cuda_kernels.h"

namespace cuda = lw::cuda;

class TestCudaAllocator : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() {
    if (cuda::device_count() == 0) QSKIP("no CUDA device: the cuda tests run on the GPU machine");
    lw::Status st = cuda::init_backend();
    QVERIFY2(st.is_ok(), st.to_string().c_str());
    QCOMPARE(lw::allocator_for(lw::DeviceType::kCuda), &cuda::caching_allocator());
  }

  void size_classes() {
    QCOMPARE(cuda::size_class(1), size_t{512});
    QCOMPARE(cuda::size_class(512), size_t{512});
    QCOMPARE(cuda::size_class(513), size_t{1024});
    QCOMPARE(cuda::size_class((1u << 20) - 1), size_t{1u << 20});
    QCOMPARE(cuda::size_class(1u << 20), size_t{2u << 20});
    QCOMPARE(cuda::size_class((6u << 20) + 1), size_t{8u << 20});
  }

  void steady_state_reuse() {
    lw::Allocator& a = cuda::caching_allocator();
    a.release_cached(0);
    const auto before = a.stats(0);
    // A "step" allocating a few tensors, run five times: only the first step may
    // reach cudaMalloc.
    const size_t sizes[] = {1000, 4096, 3u << 20, 77, 1u << 24};
    int64_t system_after_first = 0;
    for (int step = 0; step < 5; ++step) {
      std::vector<void*> ptrs;
      for (size_t n : sizes) {
        auto r = a.allocate(n, 0);
        QVERIFY2(r.is_ok(), r.status().to_string().c_str());
        ptrs.push_back(*r);
      }
      const auto mid = a.stats(0);
      QCOMPARE(mid.bytes_in_use - before.bytes_in_use, size_t{1000 + 4096 + (3u << 20) + 77 + (1u << 24)});
      QVERIFY(mid.bytes_reserved >= mid.bytes_in_use);
      for (size_t i = 0; i < ptrs.size(); ++i) a.deallocate(ptrs[i], sizes[i], 0);
      if (step == 0) system_after_first = a.stats(0).num_system_allocs;
    }
    const auto after = a.stats(0);
    QCOMPARE(after.num_system_allocs, system_after_first);
    QCOMPARE(after.bytes_in_use, before.bytes_in_use);
    QVERIFY(after.peak_in_use >= before.bytes_in_use + (1u << 24));
    a.release_cached(0);
    // Nothing is live any more, so releasing the cache returns every reserved byte.
    if (a.stats(0).bytes_in_use == 0) QCOMPARE(a.stats(0).bytes_reserved, size_t{0});
  }

  void streams_do_not_share_blocks() {
    lw::Allocator& a = cuda::caching_allocator();
    cudaStream_t s1;
    QCOMPARE(cudaStreamCreate(&s1), cudaSuccess);
    auto r = a.allocate(8192, 0);
    QVERIFY(r.is_ok());
    void* p0 = *r;
    a.deallocate(p0, 8192, 0);
    cuda::set_current_stream(s1);
    auto r1 = a.allocate(8192, 0);
    QVERIFY(r1.is_ok());
    QVERIFY2(*r1 != p0, "a block freed on one stream was handed to another");
    a.deallocate(*r1, 8192, 0);
    cuda::set_current_stream(nullptr);
    auto r2 = a.allocate(8192, 0);
    QVERIFY(r2.is_ok());
    QCOMPARE(*r2, p0);  // same stream, same class: the cached block comes back
    a.deallocate(*r2, 8192, 0);
    cudaStreamDestroy(s1);
  }

  void copy_and_fill() {
    lw::Allocator& a = cuda::caching_allocator();
    std::vector<float> host(1000), back(1000, -1.f);
    for (int i = 0; i < 1000; ++i) host[i] = i * 0.5f;
    auto r = a.allocate(4000, 0);
    QVERIFY(r.is_ok());
    QVERIFY(a.copy(*r, host.data(), 4000, lw::CopyKind::kHostToDevice, 0).is_ok());
    QVERIFY(a.copy(back.data(), *r, 4000, lw::CopyKind::kDeviceToHost, 0).is_ok());
    QCOMPARE(back, host);
    QVERIFY(a.fill_zero(*r, 4000, 0).is_ok());
    QVERIFY(a.copy(back.data(), *r, 4000, lw::CopyKind::kDeviceToHost, 0).is_ok());
    QCOMPARE(back, std::vector<float>(1000, 0.f));
    a.deallocate(*r, 4000, 0);
  }

  void out_of_memory() {
    lw::Allocator& a = cuda::caching_allocator();
    const size_t huge = size_t{1} << 50;  // 1 PiB
    auto r = a.allocate(huge, 0);
    QVERIFY(!r.is_ok());
    QCOMPARE(r.status().code(), lw::StatusCode::kOutOfMemory);
    const std::string msg = r.status().message();
    QVERIFY2(msg.find(std::to_string(huge)) != std::string::npos, msg.c_str());
    QVERIFY2(msg.find("cuda:0") != std::string::npos, msg.c_str());
    // The device is still usable afterwards.
    auto ok = a.allocate(1024, 0);
    QVERIFY2(ok.is_ok(), ok.status().to_string().c_str());
    a.deallocate(*ok, 1024, 0);
    QCOMPARE(cudaGetLastError(), cudaSuccess);
  }
};

QTEST_GUILESS_MAIN(TestCudaAllocator)
#include "test_cuda_allocator.moc"
