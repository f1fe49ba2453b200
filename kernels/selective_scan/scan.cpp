// Selective scan (Mamba's S6) on the CPU: one pass over time with the state in cache.
//
// Built by kernels/cpu_build.py (g++ -O3 -march=native -ffast-math, linked without
// -ffast-math so the process's float mode is untouched) and called through ctypes by
// kernels/selective_scan/cpp.py. Layouts (all contiguous, row-major):
//
//   x, dt, y          [B, L, H, P]
//   Bm, Cm            [B, L, H, N]
//   At                [H, N, P]        A transposed, so the inner loop runs over P
//   state, h0, g      [B, H, N, P]
//   ck                [B, H, nck, N, P] state before every K-th token (K = chunk)
//   dAt_part          [B, H, N, P]     dL/dA per batch row (the caller sums over B)
//
// Work is split over the B·H independent (batch, head) rows across n_threads threads.
// Inner loops run over P with no dependence between lanes; GCC vectorises them, expf
// included (glibc's libmvec under -ffast-math).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "cpu_common.h"

namespace {

struct Dims {
  int64_t B, L, H, P, N, K;
  int64_t nck() const { return (L + K - 1) / K; }
  int64_t tok(int64_t b, int64_t t, int64_t h) const { return (b * L + t) * H + h; }  // token-row index
};

// One step h ← exp(Δ A) ⊙ h + B ⊗ (Δ x) for one (batch, head) row; returns y = C · h in yt when
// given, and the decays exp(Δ A) in decay when given.
template <typename T>
inline void step(const Dims& d, const T* __restrict xt, const T* __restrict dtt, const T* __restrict At,
                 const T* __restrict Bt, const T* __restrict Ct, const T* prev, T* next,  // may alias (in-place step)
                 T* __restrict yt, T* __restrict decay, T* __restrict dx) {
  const int64_t P = d.P;
  for (int64_t p = 0; p < P; ++p) dx[p] = dtt[p] * xt[p];
  if (yt) std::fill(yt, yt + P, T(0));
  for (int64_t n = 0; n < d.N; ++n) {
    const T bn = Bt[n];
    const T* __restrict an = At + n * P;
    const T* hp = prev + n * P;
    T* hn = next + n * P;
    if (decay) {
      T* __restrict en = decay + n * P;
      for (int64_t p = 0; p < P; ++p) {
        const T e = std::exp(dtt[p] * an[p]);
        en[p] = e;
        hn[p] = e * hp[p] + bn * dx[p];
      }
    } else {
      for (int64_t p = 0; p < P; ++p) hn[p] = std::exp(dtt[p] * an[p]) * hp[p] + bn * dx[p];
    }
    if (yt) {
      const T cn = Ct[n];
      for (int64_t p = 0; p < P; ++p) yt[p] += cn * hn[p];
    }
  }
}

template <typename T>
void forward(const T* x, const T* dt, const T* At, const T* Bm, const T* Cm, T* y, T* state, T* ck,
             const Dims& d, int n_threads) {
  const int64_t NP = d.N * d.P, nck = d.nck();
  seqlab::parallel_rows(d.B, d.H, n_threads, [&](int64_t b, int64_t h) {
    std::vector<T> dx(d.P);
    T* s = state + (b * d.H + h) * NP;  // holds h0 on entry, the final state on exit
    T* ckr = ck + (b * d.H + h) * nck * NP;
    const T* Ah = At + h * NP;
    for (int64_t t = 0; t < d.L; ++t) {
      if (t % d.K == 0) std::memcpy(ckr + (t / d.K) * NP, s, NP * sizeof(T));
      const int64_t r = d.tok(b, t, h);
      step(d, x + r * d.P, dt + r * d.P, Ah, Bm + r * d.N, Cm + r * d.N, s, s, y + r * d.P,
           static_cast<T*>(nullptr), dx.data());
    }
  });
}

// One token of the reverse pass for one state row n: g ← g + C_n gy (dL/dh_t), then the
// gradients it gives, then g ← g ⊙ exp(Δ A) (dL/dh_{t−1}).
template <typename T>
inline void reverse_step(int64_t P, T bn, T cn, const T* __restrict hn, const T* __restrict hprev,
                         const T* __restrict en, const T* __restrict an, const T* __restrict dtt,
                         const T* __restrict dx, const T* __restrict gyt, T* __restrict gn, T* __restrict dAn,
                         T* __restrict gdx, T* __restrict gdt, T* __restrict dc_out, T* __restrict db_out) {
  T dc = 0, db = 0;
  for (int64_t p = 0; p < P; ++p) {
    const T gv = gn[p] + cn * gyt[p];
    dc += hn[p] * gyt[p];
    db += gv * dx[p];
    gdx[p] += gv * bn;
    const T dz = gv * hprev[p] * en[p];  // dL/d(Δ A) through exp
    gdt[p] += dz * an[p];
    dAn[p] += dz * dtt[p];
    gn[p] = gv * en[p];
  }
  *dc_out = dc;
  *db_out = db;
}

// Reverse pass, chunk by chunk: recompute the chunk's states (and decays) from its checkpoint,
// then walk back through it carrying g = dL/dh.
template <typename T>
void backward(const T* x, const T* dt, const T* At, const T* Bm, const T* Cm, const T* ck, const T* gy,
              T* g, T* dx_out, T* ddt, T* dB, T* dC, T* dAt_part, const Dims& d, int n_threads) {
  const int64_t NP = d.N * d.P, nck = d.nck(), P = d.P;
  seqlab::parallel_rows(d.B, d.H, n_threads, [&](int64_t b, int64_t h) {
    std::vector<T> states((d.K + 1) * NP), decays(d.K * NP), dx(P), gdx(P), gdt(P);
    T* gr = g + (b * d.H + h) * NP;  // dL/dh_T on entry, dL/dh0 on exit
    T* dA = dAt_part + (b * d.H + h) * NP;
    std::fill(dA, dA + NP, T(0));
    const T* ckr = ck + (b * d.H + h) * nck * NP;
    const T* Ah = At + h * NP;
    for (int64_t c = nck - 1; c >= 0; --c) {
      const int64_t t0 = c * d.K, t1 = std::min(d.L, t0 + d.K);
      std::memcpy(states.data(), ckr + c * NP, NP * sizeof(T));
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t r = d.tok(b, t, h), j = t - t0;
        step(d, x + r * P, dt + r * P, Ah, Bm + r * d.N, Cm + r * d.N, states.data() + j * NP,
             states.data() + (j + 1) * NP, static_cast<T*>(nullptr), decays.data() + j * NP, dx.data());
      }
      for (int64_t t = t1 - 1; t >= t0; --t) {
        const int64_t r = d.tok(b, t, h), j = t - t0;
        const T *xt = x + r * P, *dtt = dt + r * P, *gyt = gy + r * P, *Bt = Bm + r * d.N, *Ct = Cm + r * d.N;
        for (int64_t p = 0; p < P; ++p) dx[p] = dtt[p] * xt[p];
        std::fill(gdx.begin(), gdx.end(), T(0));
        std::fill(gdt.begin(), gdt.end(), T(0));
        for (int64_t n = 0; n < d.N; ++n) {
          const int64_t o = n * P;
          const T* hn = states.data() + (j + 1) * NP + o;
          const T* hprev = states.data() + j * NP + o;
          reverse_step(P, Bt[n], Ct[n], hn, hprev, decays.data() + j * NP + o, Ah + o, dtt, dx.data(), gyt,
                       gr + o, dA + o, gdx.data(), gdt.data(), dC + r * d.N + n, dB + r * d.N + n);
        }
        for (int64_t p = 0; p < P; ++p) {
          dx_out[r * P + p] = gdx[p] * dtt[p];
          ddt[r * P + p] = gdt[p] + gdx[p] * xt[p];
        }
      }
    }
  });
}

}  // namespace

extern "C" {

#define SEQLAB_SCAN_ENTRY(SUFFIX, T)                                                                     \
  void seqlab_scan_fwd_##SUFFIX(const T* x, const T* dt, const T* At, const T* Bm, const T* Cm, T* y,   \
                                T* state, T* ck, int64_t B, int64_t L, int64_t H, int64_t P, int64_t N,  \
                                int64_t K, int n_threads) {                                              \
    forward<T>(x, dt, At, Bm, Cm, y, state, ck, Dims{B, L, H, P, N, K}, n_threads);                       \
  }                                                                                                      \
  void seqlab_scan_bwd_##SUFFIX(const T* x, const T* dt, const T* At, const T* Bm, const T* Cm,          \
                                const T* ck, const T* gy, T* g, T* dx, T* ddt, T* dB, T* dC, T* dAt,     \
                                int64_t B, int64_t L, int64_t H, int64_t P, int64_t N, int64_t K,        \
                                int n_threads) {                                                         \
    backward<T>(x, dt, At, Bm, Cm, ck, gy, g, dx, ddt, dB, dC, dAt, Dims{B, L, H, P, N, K}, n_threads);   \
  }

SEQLAB_SCAN_ENTRY(f32, float)
SEQLAB_SCAN_ENTRY(f64, double)

}  // extern "C"
