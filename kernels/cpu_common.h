// Shared by the compiled CPU kernels (kernels/<op>/*.cpp): built with -I kernels/ by
// kernels/cpu_build.py, whose cache key covers this header too.
#pragma once

#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

namespace seqlab {

// Run body(b, h) for every (batch, head) row, rows dealt round-robin over up to n_threads
// threads. Rows are independent, and each row's arithmetic is the same whatever the thread
// count, so results are bit-identical across thread counts.
template <typename F>
void parallel_rows(int64_t batch, int64_t heads, int n_threads, F&& body) {
  const int64_t rows = batch * heads;
  const int64_t n = std::max<int64_t>(1, std::min<int64_t>(n_threads, rows));
  if (n == 1) {
    for (int64_t r = 0; r < rows; ++r) body(r / heads, r % heads);
    return;
  }
  std::vector<std::thread> pool;
  for (int64_t w = 0; w < n; ++w) {
    pool.emplace_back([&, w] {
      for (int64_t r = w; r < rows; r += n) body(r / heads, r % heads);
    });
  }
  for (auto& th : pool) th.join();
}

}  // namespace seqlab
