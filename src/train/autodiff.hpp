// A small reverse-mode automatic differentiation tape over double matrices, for training.
// Each op records its inputs and a backward rule; Tape::backward accumulates d(output)/d(node)
// into every node that needs a gradient. Ops are column-oriented like the EGNN (one column per
// particle or edge). Forward-mode tangents (Jacobian-vector products) are written as ordinary ops
// on the same tape, so gradients of a JVP (Hutchinson's eps^T J eps) come out of one backward
// pass (reverse over forward).
#pragma once
#include <Eigen/Dense>
#include <functional>
#include <vector>

namespace enf::train::ad {

using Mat = Eigen::MatrixXd;

struct Var {
  int id = -1;
  bool valid() const { return id >= 0; }
};

class Tape {
 public:
  // A leaf: constants (needs_grad = false) or parameters / inputs whose gradient is wanted.
  Var leaf(Mat value, bool needs_grad);
  const Mat& value(Var v) const { return nodes_[v.id].value; }
  // Gradient after backward(); zero-sized (meaning all zeros) when nothing reached the node.
  const Mat& grad(Var v) const { return nodes_[v.id].grad; }
  bool needs_grad(Var v) const { return nodes_[v.id].needs_grad; }
  // Adds `seed` to d(output)/d(v) before backward (several seeds may be given).
  void seed(Var v, const Mat& seed);
  void backward();
  size_t size() const { return nodes_.size(); }

  // Ops. Shapes must match as stated (checked with eigen_assert in debug builds only: callers
  // are internal and tested).
  Var matmul(Var a, Var b);                 // a b
  Var add(Var a, Var b);                    // same shapes
  Var sub(Var a, Var b);
  Var mul(Var a, Var b);                    // elementwise
  Var scale(Var a, double c);               // c a
  Var add_scalar(Var a, double c);          // a + c
  Var add_col(Var a, Var col);              // a + col broadcast over columns (col: rows x 1)
  Var add_row(Var a, Var row);              // a + row broadcast over rows (row: 1 x cols)
  Var mul_row(Var a, Var row);              // a .* row broadcast over rows (row: 1 x cols)
  Var silu(Var a);
  Var silu_grad(Var a);                     // silu'(a) = s (1 + a (1 - s)), differentiable
  Var sigmoid(Var a);
  Var tanh(Var a);
  Var exp(Var a);
  Var sqrt(Var a);
  Var reciprocal(Var a);
  Var sum_rows(Var a);                      // 1 x cols: sum over rows
  Var sum_all(Var a);                       // 1 x 1
  Var transpose(Var a);
  Var cols(Var a, int start, int n);       // a.middleCols(start, n)
  // The index lists are held by reference: they must outlive the tape.
  Var gather_cols(Var a, const std::vector<int>& idx);              // out.col(k) = a.col(idx[k])
  Var scatter_cols(Var a, const std::vector<int>& idx, int n_cols);  // out.col(idx[k]) += a.col(k)

 private:
  struct Node {
    Mat value, grad, aux;  // aux: what a backward rule keeps beyond the inputs' values
    bool needs_grad = false;
    std::function<void(Tape&, const Mat& g)> backward;  // pushes g = d out / d node to the inputs
  };
  Var push(Mat value, bool needs_grad, std::function<void(Tape&, const Mat&)> backward);
  bool any(Var a) const { return nodes_[a.id].needs_grad; }
  bool any(Var a, Var b) const { return any(a) || any(b); }
  void accumulate(Var v, const Mat& g);
  void accumulate(Var v, Mat&& g);
  std::vector<Node> nodes_;
};

}  // namespace enf::train::ad
