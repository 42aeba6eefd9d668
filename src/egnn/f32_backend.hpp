// The float32 backend of egnn_network (egnn/network.hpp): the inference hot path, and Jacobian-
// vector products by replay. A forward pass in Record mode keeps, per operation, what that
// operation's tangent rule needs (silu'(z), the attention gate, the edge directions, ...); a pass
// in Tangent mode then runs the same formula again on T tangent directions at once (column
// t*N + i for nodes, t*E + e for edges), each operation reading its own record by position.
// Tensors live in per-operation buffers that keep their capacity between calls, so a warm
// evaluation allocates nothing. One fully connected graph without self edges, grouped by atom, or
// a batch of equal-sized such graphs side by side (edges only within each).
#pragma once
#include <Eigen/Dense>
#include <deque>
#include <utility>
#include <vector>

#include "egnn/params.hpp"
#include "nn/linear.hpp"

namespace enf::egnn {

using nn::MatrixF;

// Fully connected edge list without self edges, grouped by the first atom.
void make_edges(int n_atoms, std::vector<int>& edge_i, std::vector<int>& edge_j);
// The same within each block of `block` consecutive atoms (a batch of n_atoms / block graphs):
// still grouped by the first atom, so atom i's block - 1 edges are columns i (block - 1) onwards.
void make_edges(int n_atoms, int block, std::vector<int>& edge_i, std::vector<int>& edge_j);

// Matrices handed out to the formula's tensors and returned when the last handle goes: the
// buffers cycle through a layer's few live tensors (cache-resident) instead of one buffer per
// operation, and a returned buffer of the same size is reused first, so a warm evaluation
// neither allocates nor touches cold memory.
class BufferPool {
 public:
  int acquire(Eigen::Index rows, Eigen::Index cols);
  void retain(int i) { ++refs_[i]; }
  void release(int i) {
    if (--refs_[i] == 0) free_.push_back(i);
  }
  MatrixF& operator[](int i) { return buffers_[i]; }

 private:
  std::deque<MatrixF> buffers_;  // a deque: growing it keeps the addresses handed out
  std::vector<int> refs_;
  std::vector<int> free_;
};

// What one operation's tangent rule needs from the forward pass (silu'(z), the gate, ...).
struct OpRecord {
  MatrixF a, b;
};

// What a forward pass leaves for the tangent passes at its point.
struct ForwardCache {
  int n_atoms = 0, dim = 0;
  int block = 0;                    // atoms per graph (a batch of graphs); 0: one graph of n_atoms
  std::vector<int> edge_i, edge_j;  // edge e = (i, j), i != j, grouped by i
  std::vector<OpRecord> ops;        // by operation position in the formula
  BufferPool pool;                  // the forward pass's tensors
};

class F32Backend {
 public:
  // A tensor: a counted handle on a pool buffer (the value in a forward pass, the T-batched
  // tangent in a tangent pass).
  class T {
   public:
    T() = default;
    T(BufferPool* pool, int i) : pool_(pool), i_(i) {}
    T(const T& o) : pool_(o.pool_), i_(o.i_) {
      if (pool_) pool_->retain(i_);
    }
    T& operator=(T o) {
      std::swap(pool_, o.pool_);
      std::swap(i_, o.i_);
      return *this;
    }
    ~T() {
      if (pool_) pool_->release(i_);
    }
    MatrixF& operator*() const { return (*pool_)[i_]; }
    MatrixF* operator->() const { return &(*pool_)[i_]; }
    explicit operator bool() const { return pool_ != nullptr; }

   private:
    BufferPool* pool_ = nullptr;
    int i_ = -1;
  };
  using Param = MatrixF;
  enum class Mode { Forward, Record, Tangent };

  // Forward and Record compute values in `cache` (Forward keeps no tangent records); Tangent reads
  // the records of the Record pass at the same point and computes tangents in `tangent_pool`.
  F32Backend(Mode mode, ForwardCache& cache, BufferPool* tangent_pool = nullptr, int tangents = 1);

  Eigen::Ref<const MatrixF> cols(const MatrixF& W, int start, int n) const { return W.middleCols(start, n); }

  T linear(const Eigen::Ref<const MatrixF>& W, const MatrixF& bias, const T& x);
  T matmul(const Eigen::Ref<const MatrixF>& W, const T& x);
  T linear2(const Eigen::Ref<const MatrixF>& W1, const T& x1, const Eigen::Ref<const MatrixF>& W2, const T& x2,
            const MatrixF& bias);
  std::pair<T, T> edge_geometry(const T& x);
  T edge_input(const T& A, const T& B);  // A_i + B_j per edge (the GNF's edge MLP input)
  T edge_input(const T& A, const T& B, const Eigen::Ref<const MatrixF>& w_r, const T& r);
  T edge_input(const T& A, const T& B, const Eigen::Ref<const MatrixF>& w_r, const T& r,
               const Eigen::Ref<const MatrixF>& w_a, const T& attr);
  T silu(T z);
  T gate(const MatrixF& w, const MatrixF& bias, T m);
  T linear_row(const MatrixF& w, const T& x);
  T tanh_scale(T c, double scale);
  T coord_update(T x, const T& dir, const T& s);
  T aggregate(const T& m);
  T residual(T h, const MatrixF& W, const MatrixF& bias, const T& x);

  // The formula's inputs: a copy in a pool buffer.
  T input(const MatrixF& value);

 private:
  OpRecord& record_at();  // the current operation's record; advances the operation counter
  T fresh(Eigen::Index rows, Eigen::Index cols);  // a new tensor of that shape
  bool tangent() const { return mode_ == Mode::Tangent; }
  bool record() const { return mode_ == Mode::Record; }

  Mode mode_;
  ForwardCache& c_;
  BufferPool& pool_;
  int T_;         // tangents per pass
  size_t k_ = 0;  // operation counter
  int N_, E_;
  int deg_;  // edges per atom: its graph's atoms - 1
};

}  // namespace enf::egnn
