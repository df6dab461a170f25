// The chunked reduction (the estimators' reduction_chunks = S): a mini-batch is cut into S
// fixed, contiguous chunks, each chunk's gradient is computed on its own (normalised by the
// whole batch's weight sum) and the S gradients are added in one fixed tree. Which thread
// count, or which of K processes (K dividing S), computes a chunk changes no bit: each
// chunk's product runs on its own rows, and the tree's bracketing is fixed by S alone.
//
// The tree over leaves 0..S-1: its top level cuts [0, S) into aligned power-of-two blocks,
// largest first (S's binary digits: S = 6 gives [0, 4) [4, 6)), added from the right,
// B0 + (B1 + (... + Bn)); a block of 2^j leaves is its left half plus its right half. Any
// aligned power-of-two block inside [0, S) is a node of this tree, so a process owning the
// chunks [lo, hi) sums the maximal such blocks of its range alone (tree_nodes), sends one
// vector per block, and every process finishes the same tree from the same node values
// (never MPI's own SUM, whose bracketing depends on the algorithm the library picks).
//
// A process's message (bytes): a header (int64 flags, bit 0: stop now, e.g. Ctrl-C; int64
// rows and double weight sum of its part of the batch, read when each process holds its own
// shard of the rows), then per node its loss part (a double) and its gradient: P values of
// T, the W[l] then the b[l] in scikit-learn's order. The messages of ranks 0..K-1 are laid
// end to end in the exchange.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <vector>

#include "common.h"
#include "nn/network.h"

namespace nnfast::nn {

// The most chunks a batch may be cut into: every chunk slot costs a pass over the
// parameters each step, even an empty one, so S is bounded by what could ever pay.
constexpr index_t kMaxChunks = index_t(1) << 16;

struct TreeNode {
  index_t lo, size;  // leaves lo .. lo + size - 1
};

// The maximal aligned power-of-two blocks covering the leaves [lo, hi), left to right:
// the tree's nodes a process owning those chunks sums alone ([0, S): the top level).
inline std::vector<TreeNode> tree_nodes(index_t lo, index_t hi) {
  std::vector<TreeNode> out;
  for (index_t p = lo; p < hi;) {
    index_t s = 1;
    while (p % (2 * s) == 0 && p + 2 * s <= hi) s *= 2;
    out.push_back({p, s});
    p += s;
  }
  return out;
}

// The chunks rank r of K owns: [r S / K, (r + 1) S / K).
inline index_t rank_first_chunk(index_t S, index_t K, index_t r) { return r * (S / K); }

constexpr std::int64_t kFlagStop = 1;

// A message's header; summed over the ranks (in rank order) after the exchange.
struct Header {
  std::int64_t flags = 0, rows = 0;
  double wsum = 0;
};
constexpr index_t kHeaderBytes = 24;
static_assert(sizeof(Header) == kHeaderBytes, "the header is sent as bytes");

// Bytes of rank r's message for S chunks over K ranks and P parameters of `item` bytes.
inline index_t message_bytes(index_t S, index_t K, index_t r, index_t P, index_t item) {
  const auto nodes = tree_nodes(rank_first_chunk(S, K, r), rank_first_chunk(S, K, r + 1));
  return kHeaderBytes + index_t(nodes.size()) * (index_t(sizeof(double)) + P * item);
}

// How the chunk gradients leave and reach this process: `run` puts every rank's message,
// in rank order, into recv (send holds this rank's). ranks = 1 and no run: all local.
// local_batch > 0: each rank holds its own shard of the rows; a batch is every rank's next
// local_batch rows (fewer, or none, once a shard runs out), `steps` batches an epoch over
// n_total rows in all.
struct Exchange {
  index_t ranks = 1, rank = 0;
  std::uint8_t* send = nullptr;
  std::uint8_t* recv = nullptr;
  std::function<void()> run;
  index_t local_batch = 0, steps = 0, n_total = 0;
  bool sharded() const { return local_batch > 0; }
};

// Adds a finished block of a leaf's gradient up the tree: into[0] += g, then into[1] +=
// into[0], ... over the block (rows x cols, row stride ld, at `off` in every buffer): the
// additions the leaf completes, element by element as separate passes would do them, so
// the leaf may run them on each tile of its products while the tile is in cache.
template <typename T>
void add_up(const T* g, const std::vector<T*>& into, index_t off, index_t ld, index_t rows,
            index_t cols) {
  const T* src = g;
  for (T* dst : into) {
    for (index_t r = 0; r < rows; ++r) {
      T* d = dst + off + r * ld;
      const T* s = src + off + r * ld;
      for (index_t c = 0; c < cols; ++c) d[c] += s[c];
    }
    src = dst;
  }
}

// One batch's gradient by the chunked reduction. The caller supplies each chunk's rows;
// this class owns the node buffers, the tree and the exchange.
template <typename T>
class ChunkedGradient {
 public:
  // leaf(c, grad, &J, into, slot): chunk c's gradient (P values) into grad and its loss part
  // into J, and then the tree's additions the leaf completes: add_up(grad, into, ...) over
  // every element (the leaf's products may do it tile by tile). Leaves of different slots
  // run at once, on threads (slot: which of slots() workspaces the leaf may use).
  using Leaf = std::function<void(index_t, T*, double*, const std::vector<T*>&, int)>;

  // threads: how many the process may use. In one process the chunks are shared among
  // up to `threads` of them as if they were ranks (each thread's chunks a range of whole
  // tree nodes, their products on that thread alone): the same bits, and data parallelism
  // for networks whose products are too small to split, when the nodes' buffers are small.
  ChunkedGradient(const Network<T>& net, index_t S, const Exchange& ex, int threads = 1)
      : net_(net), S_(S), ex_(ex) {
    const index_t L = net.layers();  // scikit-learn's order: every W[l], then every b[l]
    for (index_t l = 0; l < L; ++l) {
      offW_.push_back(P_);
      P_ += net.sizes[l] * net.sizes[l + 1];
    }
    for (index_t l = 0; l < L; ++l) {
      offb_.push_back(P_);
      P_ += net.sizes[l + 1];
    }
    c0_ = rank_first_chunk(S, ex.ranks, ex.rank);
    c1_ = rank_first_chunk(S, ex.ranks, ex.rank + 1);
    const size_t node_elems = static_cast<size_t>(P_) + (sizeof(double) + sizeof(T) - 1) / sizeof(T);
    if (!ex.send) {  // one process: its threads as virtual ranks (a divisor of S)
      constexpr double kMaxBuffers = 64.0 * (1 << 20);  // bytes of node buffers at most
      for (index_t t = std::min<index_t>(threads, S); t > 1; --t) {
        const double depth = std::log2(double(S / t)) + 1;
        if (S % t == 0 && double(t) * depth * double(node_elems * sizeof(T)) <= kMaxBuffers) {
          virt_ = t;
          break;
        }
      }
      index_t bytes = 0;
      for (index_t r = 0; r < virt_; ++r) bytes += message_bytes(S, virt_, r, P_, sizeof(T));
      local_.resize(static_cast<size_t>(bytes));
      ex_.send = ex_.recv = local_.data();
    }
    const index_t ranks = ex_.run ? ex_.ranks : virt_;
    for (index_t r = 0; r < ranks; ++r) {
      const index_t lo = ex_.run ? c0_ : rank_first_chunk(S, virt_, r);
      const index_t hi = ex_.run ? c1_ : rank_first_chunk(S, virt_, r + 1);
      if (!ex_.run || r == 0) {  // the nodes this process sums, per slot (thread)
        slots_.push_back({tree_nodes(lo, hi), {}, 0});
        index_t deepest = 1;
        for (const auto& n : slots_.back().nodes) deepest = std::max(deepest, n.size);
        // A node of 2^j leaves is summed on a stack of j + 1 entries, the first in its
        // slot of the message; the others in the pool, one buffer per depth.
        for (index_t s = deepest; s > 1; s /= 2) slots_.back().pool.emplace_back(node_elems);
      }
    }
    for (index_t r = 0, off = 0; r < virt_ && !ex_.run; ++r) {
      slots_[r].offset = off;
      off += message_bytes(S, virt_, r, P_, sizeof(T));
    }
    for (index_t r = 0, at = 0; r < ranks; ++r) {
      const index_t K = ex_.run ? ex_.ranks : virt_;
      const index_t first = rank_first_chunk(S, K, r);
      at += kHeaderBytes;
      for (const auto& n : tree_nodes(first, rank_first_chunk(S, K, r + 1))) {
        all_.push_back({n, at});
        at += index_t(sizeof(double)) + P_ * index_t(sizeof(T));
      }
    }
  }

  index_t params() const { return P_; }
  // How many leaves may run at once (each needing its own workspace).
  int slots() const { return int(slots_.size()); }
  // Chunk c's first row in a batch of mb rows: rows [c mb / S, (c + 1) mb / S) of the whole
  // batch (some empty when mb < S); sharded, of this rank's mb rows, cut into its S / K.
  index_t chunk_begin(index_t c, index_t mb) const {
    return ex_.sharded() ? (c - c0_) * mb / (c1_ - c0_) : c * mb / S_;  // (virtual ranks: S)
  }

  // This rank's nodes, leaf by leaf (see Leaf). Then the exchange, then the tree. Returns the summed gradient (P
  // values: W[l] at offW(l), b[l] at offb(l)), which the caller may scale in place; `J` its
  // loss part, `all` the headers summed over the ranks (flags or'ed). mine: this rank's.
  T* reduce(const Leaf& leaf, const Header& mine,
            double* J, Header* all) {
    std::memcpy(ex_.send, &mine, sizeof(mine));
    auto sum_slot = [&](int t) {
      index_t at = slots_[t].offset + kHeaderBytes;
      for (const auto& n : slots_[t].nodes) {
        sum_node(n, leaf, ex_.send + at, slots_[t].pool, t);
        at += index_t(sizeof(double)) + P_ * index_t(sizeof(T));
      }
    };
    if (slots() > 1) {
      parallel_region(slots(), [&](int t, int nt) {
        for (int s = t; s < slots(); s += nt) sum_slot(s);
      });
    } else {
      sum_slot(0);
    }
    if (!ex_.run) {  // one process: its own header
      *all = mine;
    } else {
      ex_.run();
      *all = Header{};
      for (index_t r = 0, at = 0; r < ex_.ranks; ++r) {
        Header h;
        std::memcpy(&h, ex_.recv + at, sizeof(h));
        all->flags |= h.flags;
        all->rows += h.rows;
        all->wsum += h.wsum;
        at += message_bytes(S_, ex_.ranks, r, P_, sizeof(T));
      }
    }
    const auto top = tree_nodes(0, S_);
    std::uint8_t* acc = eval(top.back());
    for (index_t i = index_t(top.size()) - 2; i >= 0; --i) {
      std::uint8_t* x = eval(top[i]);
      add(x, acc);
      acc = x;
    }
    std::memcpy(J, acc, sizeof(double));
    return grad(acc);
  }

  index_t offW(index_t l) const { return offW_[l]; }
  index_t offb(index_t l) const { return offb_[l]; }

 private:
  struct Placed {
    TreeNode node;
    index_t at;  // the node's offset in recv
  };

  static T* grad(std::uint8_t* node) { return reinterpret_cast<T*>(node + sizeof(double)); }

  // a += b (loss part and gradient), element-wise: the same bits for any split.
  void add(std::uint8_t* a, const std::uint8_t* b) const {
    add_loss(a, b);
    T* x = grad(a);
    const T* y = reinterpret_cast<const T*>(b + sizeof(double));
    parallel_chunks(P_, [&](index_t lo, index_t hi) {
      for (index_t i = lo; i < hi; ++i) x[i] += y[i];
    });
  }

  // The node n of the tree, from the received nodes (added in place, into its leftmost one).
  std::uint8_t* eval(const TreeNode& n) {
    for (const auto& p : all_)
      if (p.node.lo == n.lo && p.node.size == n.size) return ex_.recv + p.at;
    if (n.size == 1) throw std::logic_error("chunked reduction: a leaf no rank sent");
    std::uint8_t* left = eval({n.lo, n.size / 2});
    add(left, eval({n.lo + n.size / 2, n.size / 2}));
    return left;
  }

  // Node n's value into out (loss part, then gradient), leaf by leaf on a stack whose
  // equal-sized top entries are added as soon as they meet: n's halves, recursively. A
  // leaf meets the top entries of sizes 1, 2, 4, ...: it adds its gradient into them
  // itself (Leaf's `into`), so only the loss parts are added here.
  void sum_node(const TreeNode& n, const Leaf& leaf, std::uint8_t* out,
                std::vector<std::vector<T>>& pool, int slot) {
    struct Entry {
      std::uint8_t* at;
      index_t size;
    };
    std::vector<Entry> stack;
    std::vector<T*> into;
    for (index_t c = n.lo; c < n.lo + n.size; ++c) {
      into.clear();
      for (size_t k = 0; k < stack.size() && stack[stack.size() - 1 - k].size == index_t(1) << k; ++k)
        into.push_back(grad(stack[stack.size() - 1 - k].at));
      std::uint8_t* buf =
          stack.empty() ? out : reinterpret_cast<std::uint8_t*>(pool[stack.size() - 1].data());
      double J = 0;
      leaf(c, grad(buf), &J, into, slot);
      std::memcpy(buf, &J, sizeof(double));
      stack.push_back({buf, 1});
      while (stack.size() >= 2 && stack[stack.size() - 1].size == stack[stack.size() - 2].size) {
        add_loss(stack[stack.size() - 2].at, stack.back().at);
        stack[stack.size() - 2].size *= 2;
        stack.pop_back();
      }
    }
  }

  // a's loss part += b's.
  static void add_loss(std::uint8_t* a, const std::uint8_t* b) {
    double ja, jb;
    std::memcpy(&ja, a, sizeof(double));
    std::memcpy(&jb, b, sizeof(double));
    ja += jb;
    std::memcpy(a, &ja, sizeof(double));
  }


  const Network<T>& net_;
  index_t S_, P_ = 0, c0_ = 0, c1_ = 0;
  Exchange ex_;
  std::vector<index_t> offW_, offb_;
  struct Slot {
    std::vector<TreeNode> nodes;          // the tree nodes it sums
    std::vector<std::vector<T>> pool;     // its stack's buffers past the first
    index_t offset;                       // its message's offset in send
  };
  std::vector<Slot> slots_;
  std::vector<Placed> all_;
  std::vector<std::uint8_t> local_;
  index_t virt_ = 1;
};

}  // namespace nnfast::nn
