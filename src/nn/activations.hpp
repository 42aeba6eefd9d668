// Scalar activations and their derivatives, written once and shared by forward and tangent passes.
#pragma once
#include <cmath>

namespace enf::nn {

template <class T>
inline T sigmoid(T z) {
  return T(1) / (T(1) + std::exp(-z));
}

template <class T>
inline T silu(T z) {
  return z * sigmoid(z);
}

// d/dz silu(z) = s (1 + z (1 - s)), s = sigmoid(z).
template <class T>
inline T silu_grad(T z) {
  const T s = sigmoid(z);
  return s * (T(1) + z * (T(1) - s));
}

// log(1 + e^z) without overflow.
inline double softplus(double z) { return z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z)); }

// log sigmoid(z) = -softplus(-z).
inline double log_sigmoid(double z) { return -softplus(-z); }

}  // namespace enf::nn
