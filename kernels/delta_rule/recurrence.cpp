// Delta rule (DeltaNet, and DeltaProduct with n Householder steps per token) on the CPU: one pass
// over time per (batch, head) row with the K × V state in cache.
//
// Built by kernels/cpu_build.py (g++ -O3 -march=native -ffast-math on the compile step only) and
// called through ctypes by kernels/delta_rule/cpp.py. Layouts (all contiguous, row-major; L = T·n):
//
//   q, dq             [B, T, H, K]
//   k, dk             [B, L, H, K]     token t owns rows t·n .. t·n + n − 1
//   v, dv             [B, L, H, V]
//   beta, dbeta       [B, L, H]
//   o, do_            [B, T, H, V]
//   state, h0, g      [B, H, K, V]     g: dL/dS_T in, dL/dS_0 out
//   ck                [B, H, nck, K, V] state before every C-th token (C tokens = C·n steps)
//
// A step, with u = v − Sᵀk the part of v the state does not yet recall:
//   S ← S + k (β u)ᵀ  =  (I − β k kᵀ) S + β k vᵀ;     after a token's n steps: o = Sᵀ (scale · q).
// Its backward, with G = dL/dS after the step and dw = Gᵀk:
//   dβ = dw · u,  du = β dw,  dv = du,  dk = G (β u) − S du,  dL/dS before = G − k duᵀ.
//
// Rows (batch, head) are independent and split over threads (seqlab::parallel_rows); inner loops
// run along V, the contiguous axis of the state.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "cpu_common.h"

namespace {

struct Dims {
  int64_t B, T, H, K, V, n, C;
  int64_t L() const { return T * n; }
  int64_t nck() const { return (T + C - 1) / C; }
};

// u = v − Sᵀk (V entries), then S += k (β u)ᵀ. Returns nothing; u is left in u.
template <typename F>
inline void step(const Dims& d, const F* __restrict kt, const F* __restrict vt, F beta, F* __restrict S,
                 F* __restrict u) {
  const int64_t K = d.K, V = d.V;
  std::copy(vt, vt + V, u);
  for (int64_t i = 0; i < K; ++i) {
    const F ki = kt[i];
    const F* __restrict row = S + i * V;
    for (int64_t j = 0; j < V; ++j) u[j] -= ki * row[j];
  }
  for (int64_t i = 0; i < K; ++i) {
    const F c = beta * kt[i];
    F* __restrict row = S + i * V;
    for (int64_t j = 0; j < V; ++j) row[j] += c * u[j];
  }
}

// o = Sᵀ (scale · q): V entries.
template <typename F>
inline void read(const Dims& d, const F* __restrict S, const F* __restrict qt, F scale, F* __restrict o) {
  std::fill(o, o + d.V, F(0));
  for (int64_t i = 0; i < d.K; ++i) {
    const F c = scale * qt[i];
    const F* __restrict row = S + i * d.V;
    for (int64_t j = 0; j < d.V; ++j) o[j] += c * row[j];
  }
}

template <typename F>
void forward(const F* q, const F* k, const F* v, const F* beta, F* o, F* state, F* ck, const Dims& d, F scale,
             int n_threads) {
  const int64_t K = d.K, V = d.V, H = d.H, KV = K * V;
  seqlab::parallel_rows(d.B, H, n_threads, [&](int64_t b, int64_t h) {
    F* S = state + (b * H + h) * KV;  // h0 in, final state out
    std::vector<F> u(V);
    for (int64_t t = 0; t < d.T; ++t) {
      if (t % d.C == 0) std::copy(S, S + KV, ck + ((b * H + h) * d.nck() + t / d.C) * KV);
      for (int64_t s = t * d.n; s < (t + 1) * d.n; ++s) {
        const int64_t row = (b * d.L() + s) * H + h;
        step(d, k + row * K, v + row * V, beta[row], S, u.data());
      }
      const int64_t tok = (b * d.T + t) * H + h;
      read(d, S, q + tok * K, scale, o + tok * V);
    }
  });
}

template <typename F>
void backward(const F* q, const F* k, const F* v, const F* beta, const F* ck, const F* do_, F* g, F* dq, F* dk,
              F* dv, F* dbeta, const Dims& d, F scale, int n_threads) {
  const int64_t K = d.K, V = d.V, H = d.H, KV = K * V, steps = d.C * d.n;
  seqlab::parallel_rows(d.B, H, n_threads, [&](int64_t b, int64_t h) {
    F* G = g + (b * H + h) * KV;  // dL/dS, carried backwards in place
    std::vector<F> states((steps + 1) * KV), us(steps * V), dw(V);
    for (int64_t c = d.nck() - 1; c >= 0; --c) {
      const int64_t t0 = c * d.C, t1 = std::min(d.T, t0 + d.C);
      // Recompute the chunk: states[m] is the state before its m-th step, us[m] that step's u.
      std::copy_n(ck + ((b * H + h) * d.nck() + c) * KV, KV, states.data());
      for (int64_t s = t0 * d.n, m = 0; s < t1 * d.n; ++s, ++m) {
        const int64_t row = (b * d.L() + s) * H + h;
        std::copy_n(states.data() + m * KV, KV, states.data() + (m + 1) * KV);
        step(d, k + row * K, v + row * V, beta[row], states.data() + (m + 1) * KV, us.data() + m * V);
      }
      for (int64_t t = t1 - 1; t >= t0; --t) {
        // The read o_t = Sᵀ (scale · q_t), S being the state after token t's last step.
        const int64_t tok = (b * d.T + t) * H + h;
        const F* S = states.data() + ((t - t0 + 1) * d.n) * KV;
        const F* dot = do_ + tok * V;
        const F* qt = q + tok * K;
        F* dqt = dq + tok * K;
        for (int64_t i = 0; i < K; ++i) {
          const F* __restrict row = S + i * V;
          F acc = 0;
          for (int64_t j = 0; j < V; ++j) acc += row[j] * dot[j];
          dqt[i] = scale * acc;
          const F c2 = scale * qt[i];
          F* __restrict grow = G + i * V;
          for (int64_t j = 0; j < V; ++j) grow[j] += c2 * dot[j];
        }
        for (int64_t s = (t + 1) * d.n - 1; s >= t * d.n; --s) {
          const int64_t row = (b * d.L() + s) * H + h, m = s - t0 * d.n;
          const F* kt = k + row * K;
          const F* u = us.data() + m * V;
          const F* Sp = states.data() + m * KV;  // state before this step
          const F bt = beta[row];
          std::fill(dw.begin(), dw.end(), F(0));
          for (int64_t i = 0; i < K; ++i) {  // dw = Gᵀ k
            const F ki = kt[i];
            const F* __restrict grow = G + i * V;
            for (int64_t j = 0; j < V; ++j) dw[j] += ki * grow[j];
          }
          F db = 0;
          for (int64_t j = 0; j < V; ++j) db += dw[j] * u[j];
          dbeta[row] = db;
          F* dvt = dv + row * V;
          for (int64_t j = 0; j < V; ++j) dvt[j] = bt * dw[j];  // du = β dw = dv
          F* dkt = dk + row * K;
          for (int64_t i = 0; i < K; ++i) {  // dk = G (β u) − S du;  G ← G − k duᵀ
            const F* __restrict grow = G + i * V;
            const F* __restrict srow = Sp + i * V;
            F acc = 0;
            for (int64_t j = 0; j < V; ++j) acc += grow[j] * u[j] - srow[j] * dw[j];
            dkt[i] = bt * acc;
          }
          for (int64_t i = 0; i < K; ++i) {
            const F c2 = kt[i] * bt;
            F* __restrict grow = G + i * V;
            for (int64_t j = 0; j < V; ++j) grow[j] -= c2 * dw[j];
          }
        }
      }
    }
  });
}

}  // namespace

#define SEQLAB_DELTA_EXPORT(F, SUFFIX)                                                                         \
  extern "C" void seqlab_delta_fwd_##SUFFIX(const F* q, const F* k, const F* v, const F* beta, F* o, F* state,   \
                                            F* ck, int64_t B, int64_t T, int64_t H, int64_t K, int64_t V,       \
                                            int64_t n, int64_t C, double scale, int n_threads) {                \
    forward<F>(q, k, v, beta, o, state, ck, Dims{B, T, H, K, V, n, C}, F(scale), n_threads);                    \
  }                                                                                                            \
  extern "C" void seqlab_delta_bwd_##SUFFIX(const F* q, const F* k, const F* v, const F* beta, const F* ck,     \
                                            const F* do_, F* g, F* dq, F* dk, F* dv, F* dbeta, int64_t B,       \
                                            int64_t T, int64_t H, int64_t K, int64_t V, int64_t n, int64_t C,   \
                                            double scale, int n_threads) {                                      \
    backward<F>(q, k, v, beta, ck, do_, g, dq, dk, dv, dbeta, Dims{B, T, H, K, V, n, C}, F(scale), n_threads);  \
  }

SEQLAB_DELTA_EXPORT(float, f32)
SEQLAB_DELTA_EXPORT(double, f64)
