// The TS2Vec residual block's forward and backward (tscl/kernels/residual_block.py) with the same ATen calls,
// made from C++ instead of Python: for benchmarks/bench_native_block.py only (not part of tscl).
#include <torch/extension.h>
#include <cstdlib>
using torch::Tensor;
using Pad = std::vector<std::vector<int64_t>>;

static void zero_pad(Tensor& x, const Pad& pad) {
  for (auto& p : pad) x.slice(0, p[2]).slice(1, p[0], p[1]).zero_();
}
static void tap_forward(const Tensor& x, const Tensor& pt, int64_t d, Tensor& out) {
  int64_t T = x.size(0), B = x.size(1), Cin = x.size(2), K = pt.size(0), c = K / 2;
  auto rows = x.view({T * B, Cin});
  auto orows = out.view({T * B, out.size(2)});
  orows.addmm_(rows, pt[c]);
  for (int64_t j = 0; j < K; j++) {
    if (j == c) continue;
    int64_t s = (j - c) * d;
    if (std::llabs(s) >= T) continue;
    if (s >= 0) orows.slice(0, 0, (T - s) * B).addmm_(rows.slice(0, s * B, T * B), pt[j]);
    else orows.slice(0, -s * B, T * B).addmm_(rows.slice(0, 0, (T + s) * B), pt[j]);
  }
}
static Tensor tap_grad_input(const Tensor& go, const Tensor& pt, int64_t d) {
  int64_t T = go.size(0), B = go.size(1), Cout = go.size(2), K = pt.size(0), c = K / 2, Cin = pt.size(1);
  auto grows = go.view({T * B, Cout});
  auto gx = at::mm(grows, pt[c].t());
  for (int64_t j = 0; j < K; j++) {
    if (j == c) continue;
    int64_t s = (j - c) * d;
    if (std::llabs(s) >= T) continue;
    if (s >= 0) gx.slice(0, s * B, T * B).addmm_(grows.slice(0, 0, (T - s) * B), pt[j].t());
    else gx.slice(0, 0, (T + s) * B).addmm_(grows.slice(0, -s * B, T * B), pt[j].t());
  }
  return gx.view({T, B, Cin});
}
static Tensor tap_grad_weight(const Tensor& x, const Tensor& go, int64_t d, int64_t K) {
  int64_t T = x.size(0), B = x.size(1), Cin = x.size(2), Cout = go.size(2), c = K / 2;
  auto rows = x.view({T * B, Cin});
  auto grows = go.view({T * B, Cout});
  auto gw = at::zeros({K, Cin, Cout}, x.options());
  auto centre = gw[c];
  at::mm_out(centre, rows.t(), grows);
  for (int64_t j = 0; j < K; j++) {
    if (j == c) continue;
    int64_t s = (j - c) * d;
    if (std::llabs(s) >= T) continue;
    auto dst = gw[j];
    if (s >= 0) at::mm_out(dst, rows.slice(0, s * B, T * B).t(), grows.slice(0, 0, (T - s) * B));
    else at::mm_out(dst, rows.slice(0, 0, (T + s) * B).t(), grows.slice(0, -s * B, T * B));
  }
  return gw.permute({2, 1, 0});
}

std::vector<Tensor> block_forward(Tensor x, Tensor p1, Tensor b1, Tensor p2, Tensor b2,
                                  c10::optional<Tensor> wpt, int64_t d, Pad pad) {
  x = x.contiguous();
  int64_t T = x.size(0), B = x.size(1), Cin = x.size(2), C = p1.size(2);
  auto a = at::gelu(x);
  auto h = at::empty({T, B, C}, x.options());
  h.copy_(b1.expand({T, B, C}));
  tap_forward(a, p1, d, h);
  zero_pad(h, pad);
  auto g = at::gelu(h);
  Tensor out;
  if (!wpt.has_value()) out = x + b2;
  else out = at::addmm(b2, x.view({T * B, Cin}), *wpt).view({T, B, -1});
  tap_forward(g, p2, d, out);
  zero_pad(out, pad);
  return {out, a, h, g};
}

std::vector<Tensor> block_backward(Tensor grad_out, Tensor x, Tensor a, Tensor h, Tensor g, Tensor p1, Tensor p2,
                                   c10::optional<Tensor> wp2d, int64_t d, Pad pad, bool need_x) {
  int64_t K = p1.size(0), Cin = x.size(2);
  if (!pad.empty()) { grad_out = grad_out.clone(); zero_pad(grad_out, pad); } else grad_out = grad_out.contiguous();
  auto orows = grad_out.view({-1, grad_out.size(2)});
  auto gb2 = orows.sum(0);
  auto gw2 = tap_grad_weight(g, grad_out, d, K);
  auto gh = at::gelu_backward(tap_grad_input(grad_out, p2, d), h);
  zero_pad(gh, pad);
  auto gw1 = tap_grad_weight(a, gh, d, K);
  auto gb1 = gh.view({-1, gh.size(2)}).sum(0);
  Tensor gx, gwp;
  if (need_x) {
    gx = at::gelu_backward(tap_grad_input(gh, p1, d), x);
    if (!wp2d.has_value()) gx.add_(grad_out);
    else gx.view({-1, Cin}).addmm_(orows, *wp2d);
  }
  if (wp2d.has_value()) gwp = at::mm(orows.t(), x.view({-1, Cin})).unsqueeze(-1);
  return {gx, gw1, gb1, gw2, gb2, gwp};
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("block_forward", &block_forward);
  m.def("block_backward", &block_backward);
}
