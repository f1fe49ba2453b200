// Gated linear attention on the CPU: one pass over time with the K × V state in cache.
//
//   S_t = diag(exp(g_t)) S_{t−1} + k_t v_tᵀ,      o_t = S_tᵀ (scale · q_t)
//
// Built by kernels/cpu_build.py (g++ -O3 -march=native -ffast-math, linked without
// -ffast-math so the process's float mode is untouched) and called through ctypes by
// kernels/gated_linear_attention/cpp.py. Layouts (all contiguous, row-major):
//
//   q, k, g, dq, dk, dg   [B, T, H, K]      g = log-decay ≤ 0 per key channel
//   v, o, do, dv          [B, T, H, V]
//   state, dS             [B, H, K, V]      row k of the state is V contiguous values
//   ck                    [B, H, nck, K, V] state before every C-th token (C = chunk)
//
// Work is split over the B·H independent (batch, head) rows across n_threads threads. For each
// token the K decays exp(g_t) come first (one vectorised loop over K, libmvec's expf), then the
// loop runs over the K state rows, and inside a row over V with no dependence between lanes
// (the decay is one scalar per row), so GCC vectorises the inner loops.
//
// Backward, per token, walking back with dS = dL/dS_t (q̃ = scale · q, a = exp(g_t)):
//   dS += q̃_t do_tᵀ;  dq̃_t = S_t do_t;  dk_t = dS v_t;  dv_t = dSᵀ k_t;
//   dg_t = a ⊙ rowsum(dS ⊙ S_{t−1});  then dS ← diag(a) dS  (= dL/dS_{t−1}).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "cpu_common.h"

namespace {

struct Dims {
  int64_t B, T, H, K, V, C;
  int64_t nck() const { return (T + C - 1) / C; }
  int64_t tok(int64_t b, int64_t t, int64_t h) const { return (b * T + t) * H + h; }  // token-row index
};

// The token's decays a = exp(g) into at: one vectorised loop (glibc's libmvec expf under
// -ffast-math) instead of a scalar exp per state row.
template <typename T>
inline void decays(int64_t K, const T* __restrict gt, T* __restrict at) {
  for (int64_t i = 0; i < K; ++i) at[i] = std::exp(gt[i]);
}

// One step S ← diag(a) S + k vᵀ for one (batch, head) row, from prev into next; with ot given,
// also o = Sᵀ (scale · q).
template <typename T>
inline void step(const Dims& d, T scale, const T* __restrict qt, const T* __restrict kt, const T* __restrict at,
                 const T* __restrict vt, const T* prev, T* next,  // may alias (in-place step)
                 T* __restrict ot) {
  const int64_t V = d.V;
  if (ot) std::fill(ot, ot + V, T(0));
  for (int64_t i = 0; i < d.K; ++i) {
    const T a = at[i], ki = kt[i];
    const T* sp = prev + i * V;
    T* sn = next + i * V;
    if (ot) {
      const T qi = scale * qt[i];
      for (int64_t j = 0; j < V; ++j) {
        const T s = a * sp[j] + ki * vt[j];
        sn[j] = s;
        ot[j] += qi * s;
      }
    } else {
      for (int64_t j = 0; j < V; ++j) sn[j] = a * sp[j] + ki * vt[j];
    }
  }
}

template <typename T>
void forward(const T* q, const T* k, const T* v, const T* g, T* o, T* state, T* ck, T scale, const Dims& d,
             int n_threads) {
  const int64_t KV = d.K * d.V, nck = d.nck();
  seqlab::parallel_rows(d.B, d.H, n_threads, [&](int64_t b, int64_t h) {
    std::vector<T> a(d.K);
    T* s = state + (b * d.H + h) * KV;  // holds S_0 on entry, S_T on exit
    T* ckr = ck + (b * d.H + h) * nck * KV;
    for (int64_t t = 0; t < d.T; ++t) {
      if (t % d.C == 0) std::memcpy(ckr + (t / d.C) * KV, s, KV * sizeof(T));
      const int64_t r = d.tok(b, t, h);
      decays(d.K, g + r * d.K, a.data());
      step(d, scale, q + r * d.K, k + r * d.K, a.data(), v + r * d.V, s, s, o + r * d.V);
    }
  });
}

// One token of the reverse pass for one state row i: folds q̃_i do into dS_i (now dL/dS_t), returns
// the row's dq̃, dk and Σ dS ⊙ S_{t−1}, adds its share of dv, and leaves a · dS_i (dL/dS_{t−1}).
template <typename T>
inline void reverse_row(int64_t V, T qi, T ki, T a, const T* __restrict s, const T* __restrict sprev,
                        const T* __restrict vt, const T* __restrict dot, T* __restrict ds, T* __restrict dvt,
                        T* __restrict dq_out, T* __restrict dk_out, T* __restrict dz_out) {
  T dq = 0, dk = 0, dz = 0;
  for (int64_t j = 0; j < V; ++j) {
    const T dsj = ds[j] + qi * dot[j];
    dq += s[j] * dot[j];
    dk += dsj * vt[j];
    dz += dsj * sprev[j];
    dvt[j] += dsj * ki;
    ds[j] = a * dsj;
  }
  *dq_out = dq;
  *dk_out = dk;
  *dz_out = dz;
}

// Reverse pass, chunk by chunk: recompute the chunk's states from its checkpoint into a
// (C + 1) × K × V buffer (and its decays into C × K), then walk back through it carrying
// dS = dL/dS_t.
template <typename T>
void backward(const T* q, const T* k, const T* v, const T* g, const T* ck, const T* dout, T* ds, T* dq, T* dk,
              T* dv, T* dg, T scale, const Dims& d, int n_threads) {
  const int64_t KV = d.K * d.V, nck = d.nck(), K = d.K, V = d.V;
  seqlab::parallel_rows(d.B, d.H, n_threads, [&](int64_t b, int64_t h) {
    std::vector<T> states((d.C + 1) * KV), a(d.C * K);
    T* dsr = ds + (b * d.H + h) * KV;  // dL/dS_T on entry, dL/dS_0 on exit
    const T* ckr = ck + (b * d.H + h) * nck * KV;
    for (int64_t c = nck - 1; c >= 0; --c) {
      const int64_t t0 = c * d.C, t1 = std::min(d.T, t0 + d.C);
      std::memcpy(states.data(), ckr + c * KV, KV * sizeof(T));
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t r = d.tok(b, t, h), j = t - t0;
        decays(K, g + r * K, a.data() + j * K);
        step(d, scale, q + r * K, k + r * K, a.data() + j * K, v + r * V, states.data() + j * KV,
             states.data() + (j + 1) * KV, static_cast<T*>(nullptr));
      }
      for (int64_t t = t1 - 1; t >= t0; --t) {
        const int64_t r = d.tok(b, t, h), j = t - t0;
        const T *qt = q + r * K, *kt = k + r * K, *at = a.data() + j * K, *vt = v + r * V, *dot = dout + r * V;
        T *dqt = dq + r * K, *dkt = dk + r * K, *dgt = dg + r * K, *dvt = dv + r * V;
        std::fill(dvt, dvt + V, T(0));
        for (int64_t i = 0; i < K; ++i) {
          T dz;
          reverse_row(V, scale * qt[i], kt[i], at[i], states.data() + (j + 1) * KV + i * V,
                      states.data() + j * KV + i * V, vt, dot, dsr + i * V, dvt, dqt + i, dkt + i, &dz);
          dqt[i] *= scale;
          dgt[i] = at[i] * dz;
        }
      }
    }
  });
}

}  // namespace

extern "C" {

#define SEQLAB_GLA_ENTRY(SUFFIX, T)                                                                      \
  void seqlab_gla_fwd_##SUFFIX(const T* q, const T* k, const T* v, const T* g, T* o, T* state, T* ck,     \
                               double scale, int64_t B, int64_t L, int64_t H, int64_t K, int64_t V,      \
                               int64_t C, int n_threads) {                                               \
    forward<T>(q, k, v, g, o, state, ck, T(scale), Dims{B, L, H, K, V, C}, n_threads);                    \
  }                                                                                                      \
  void seqlab_gla_bwd_##SUFFIX(const T* q, const T* k, const T* v, const T* g, const T* ck, const T* dout, \
                               T* ds, T* dq, T* dk, T* dv, T* dg, double scale, int64_t B, int64_t L,     \
                               int64_t H, int64_t K, int64_t V, int64_t C, int n_threads) {               \
    backward<T>(q, k, v, g, ck, dout, ds, dq, dk, dv, dg, T(scale), Dims{B, L, H, K, V, C}, n_threads);   \
  }

SEQLAB_GLA_ENTRY(f32, float)
SEQLAB_GLA_ENTRY(f64, double)

}  // extern "C"
