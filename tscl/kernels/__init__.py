"""Fast exact kernels, each beside the plain reference its exactness test compares it with.

A kernel computes a fixed piece of arithmetic faster than its straightforward form, with the same values up
to floating-point summation order. Kernels know no method: they take tensors (weights, biases, sizes)
explicitly, and import nothing from tscl outside this package but `tscl.errors`. The methods (losses,
encoder layers) call them.

Modules:
    row_contrast: the row-contrast loss of TS2Vec's instance and temporal terms, with its gradient.
    tap_conv: dilated "same" convolution on sequence-first activations.
    last_position: the last output step of a stack of dilated residual blocks, without the other steps.
    fft_trend: the mean of causal convolutions, by overlap-save FFT, and its last output step.
    fft_season: the last step of a per-frequency linear map of the rFFT, without the inverse FFT.
    weight_cache: a value derived from weights, kept while they are frozen and unchanged.
    optim: AdamW fused into one kernel (version counters kept) and the batched equal-weight average.
    dropout: dropout with its mask drawn by numpy on CPUs (half the cost of torch's bernoulli_).
"""
