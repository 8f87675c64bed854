#!/usr/bin/env python3
"""make_k0_cases.py: the golden cases with k = 0 (PyTorch's k, ONNX's and TensorFlow's bias),
some with windows of zeros, where PyTorch gives 0/0 = NaN in y and in dx.

Made with PyTorch 1.13 (Debian's python3-torch 1.13.1+dfsg-4) in float64, gradients by autograd,
from the stored float32 inputs. Debian's torch breaks with numpy 2, so run it from a venv that
sees the system packages with numpy < 2:

    /usr/bin/python3 -m venv --system-site-packages /tmp/torchenv
    /tmp/torchenv/bin/pip install 'numpy<2'      # Debian's python3-numpy 1.24 already qualifies
    /tmp/torchenv/bin/python tests/golden/make_k0_cases.py tests/golden

Every case is computed twice: by an explicit window (torch ops over [c-lo, c+hi], autograd) and,
for the PyTorch convention, by torch.nn.functional.local_response_norm; the script stops unless
both agree, NaN for NaN, to 1e-12 elsewhere. For ONNX and TensorFlow the explicit window is the
one their specifications give (ONNX: floor((n-1)/2) below, the rest above, alpha/n; TensorFlow:
depth_radius r on both sides, raw alpha)."""
import json
import os
import sys

import numpy as np
import torch

torch.set_default_dtype(torch.float64)


def explicit_lrn(x, lo, hi, a, k, beta):
    """y = x * (k + a * sum over channels [c-lo, c+hi] of x^2)^-beta, NCHW, zero padding."""
    sq = x * x
    c = x.shape[1]
    padded = torch.nn.functional.pad(sq, (0, 0, 0, 0, lo, hi))
    s = sum(padded[:, j:j + c] for j in range(lo + hi + 1))
    scale = k + a * s
    return x * scale.pow(-beta), scale


def canonical(conv, size, alpha):
    if conv == "pytorch":
        return size // 2, (size - 1) // 2, alpha / size
    if conv == "onnx":
        lo = (size - 1) // 2
        return lo, size - 1 - lo, alpha / size
    if conv == "tensorflow":
        return size, size, alpha
    raise ValueError(conv)


def make_case(out_dir, name, conv, shape, size, alpha, beta, seed, zero_at):
    rng = np.random.default_rng(seed)
    x32 = rng.normal(0.0, 2.0, size=shape).astype(np.float32)
    for n, c0, c1, h, w in zero_at:  # channels c0..c1 (inclusive) zero at one (n, h, w)
        x32[n, c0:c1 + 1, h, w] = 0.0
    dy32 = rng.normal(0.0, 1.0, size=shape).astype(np.float32)
    k = 0.0
    lo, hi, a = canonical(conv, size, alpha)

    x = torch.tensor(x32.astype(np.float64), requires_grad=True)
    dy = torch.tensor(dy32.astype(np.float64))
    y, scale = explicit_lrn(x, lo, hi, a, k, beta)
    y.backward(dy)
    y_np, s_np, dx_np = y.detach().numpy(), scale.detach().numpy(), x.grad.numpy()

    if conv == "pytorch":  # torch's own layer, the cross-check
        x2 = torch.tensor(x32.astype(np.float64), requires_grad=True)
        y2 = torch.nn.functional.local_response_norm(x2, size, alpha=alpha, beta=beta, k=k)
        y2.backward(dy)
        for what, p, q in (("y", y_np, y2.detach().numpy()), ("dx", dx_np, x2.grad.numpy())):
            if not np.array_equal(np.isnan(p), np.isnan(q)) or not np.allclose(p, q, rtol=1e-12, atol=1e-12,
                                                                              equal_nan=True):
                sys.exit(f"{name}: {what}: the explicit window and local_response_norm disagree")

    zero_windows = int(np.sum(s_np == 0.0))
    if zero_at and not zero_windows:
        sys.exit(f"{name}: the planted zeros make no window of zeros")
    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, "x.npy"), x32)
    np.save(os.path.join(d, "dy.npy"), dy32)
    np.save(os.path.join(d, "y.npy"), y_np)
    np.save(os.path.join(d, "scale.npy"), s_np)
    np.save(os.path.join(d, "dx.npy"), dx_np)
    case = {"convention": conv, "mode": "across", "shape": list(shape), "size": size, "alpha": alpha,
            "beta": beta, "k": k, "dtype": "float32",
            "canonical": {"window_lo": lo, "window_hi": hi, "alpha_eff": a, "k_eff": k, "beta": beta}}
    with open(os.path.join(d, "case.json"), "w") as f:
        json.dump(case, f, indent=1)
    print(f"{name}: {zero_windows} zero windows, NaN in y {int(np.isnan(y_np).sum())}, "
          f"in dx {int(np.isnan(dx_np).sum())} of {y_np.size}")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    # name, convention, shape, size (TensorFlow: depth_radius), alpha, beta, seed, zeros planted
    make_case(out, "pytorch_k0", "pytorch", (2, 7, 3, 4), 3, 0.3, 0.75, 101, [])
    make_case(out, "pytorch_k0_zero_window", "pytorch", (1, 9, 3, 3), 3, 0.5, 0.75, 102,
              [(0, 2, 6, 1, 1), (0, 0, 8, 0, 2)])
    make_case(out, "pytorch_k0_even2_general_beta", "pytorch", (1, 5, 2, 2), 2, 0.4, 0.6, 103,
              [(0, 1, 2, 1, 0)])
    make_case(out, "onnx_k0_even4_zero_window", "onnx", (1, 8, 2, 3), 4, 0.01, 0.5, 104,
              [(0, 3, 7, 0, 1), (0, 0, 2, 1, 2)])
    make_case(out, "tensorflow_k0_r1_zero_window", "tensorflow", (1, 6, 2, 2), 1, 0.1, 1.0, 105,
              [(0, 0, 3, 1, 1)])


if __name__ == "__main__":
    main()
