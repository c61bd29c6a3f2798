"""MATLAB ``imresize(..., 'bicubic')``: checked against results derivable by hand and a naive oracle."""

from __future__ import annotations

import math

import numpy as np
import pytest

from restorers.degradations.bicubic import cubic_kernel, matlab_imresize, round_half_away


def test_cubic_kernel_is_keys_a_minus_half():
    x = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5, -0.5, -1.5])
    # Keys (a = -0.5): 1.5|x|^3 - 2.5|x|^2 + 1 on [0,1], -0.5|x|^3 + 2.5|x|^2 - 4|x| + 2 on (1,2]
    expected = [1.0, 0.5625, 0.0, -0.0625, 0.0, 0.0, 0.5625, -0.0625]
    np.testing.assert_allclose(cubic_kernel(x), expected, atol=1e-12)


def test_round_half_away_from_zero():
    np.testing.assert_array_equal(round_half_away(np.array([0.5, 1.5, 2.5, -0.5, -2.5, 2.49])),
                                  [1, 2, 3, -1, -3, 2])


def naive_imresize_1d(line: np.ndarray, scale: float) -> np.ndarray:
    """MATLAB's algorithm written out loop by loop (an independent oracle for the vectorised port)."""
    n_in = len(line)
    n_out = int(math.ceil(n_in * scale))
    width = 4.0 / scale if scale < 1 else 4.0
    mirror = list(range(n_in)) + list(range(n_in - 1, -1, -1))
    out = np.zeros(n_out)
    for i in range(1, n_out + 1):
        u = i / scale + 0.5 * (1 - 1 / scale)
        left = math.floor(u - width / 2)
        taps = [left + k for k in range(int(math.ceil(width)) + 2)]
        if scale < 1:
            weights = [scale * float(cubic_kernel(np.array([scale * (u - j)]))[0]) for j in taps]
        else:
            weights = [float(cubic_kernel(np.array([u - j]))[0]) for j in taps]
        total = sum(weights)
        out[i - 1] = sum(w / total * line[mirror[(j - 1) % (2 * n_in)]] for w, j in zip(weights, taps))
    return out


def naive_imresize(image: np.ndarray, scale: float) -> np.ndarray:
    out = image.astype(np.float64)
    for axis in (0, 1):  # equal scales: rows first, as MATLAB
        out = np.apply_along_axis(naive_imresize_1d, axis, out, scale)
    if image.dtype == np.uint8:  # one rounding, half away from zero, then saturation
        return np.clip(np.sign(out) * np.floor(np.abs(out) + 0.5), 0, 255).astype(np.uint8)
    return out


@pytest.mark.parametrize("scale", [0.25, 4.0, 0.5])
def test_matches_naive_matlab_algorithm_bit_for_bit(scale):
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, size=(11, 9, 3), dtype=np.uint8) if scale > 1 else \
        rng.integers(0, 256, size=(37, 29, 3), dtype=np.uint8)
    np.testing.assert_array_equal(matlab_imresize(image, scale), naive_imresize(image, scale))


def test_float_input_matches_naive_oracle_without_rounding():
    image = np.random.default_rng(2).random((21, 18))
    np.testing.assert_allclose(matlab_imresize(image, 0.25), naive_imresize(image, 0.25), atol=1e-12)


@pytest.mark.parametrize("value", [0, 17, 128, 255])
@pytest.mark.parametrize("scale", [0.25, 4.0])
def test_constant_image_stays_constant(value, scale):
    image = np.full((16, 20, 3), value, dtype=np.uint8)
    out = matlab_imresize(image, scale)
    assert out.shape == (int(16 * scale), int(20 * scale), 3)
    assert np.all(out == value)


def test_linear_ramp_downscale_samples_the_ramp_at_pixel_centres():
    # Cubic convolution reproduces linear functions, so away from the borders MATLAB's x1/4 output is
    # the ramp evaluated at the output pixel centre: input coordinate 4x + 1.5 (0-based), value 2 * that.
    width = 96
    ramp = np.tile(2 * np.arange(width, dtype=np.uint8), (8, 1))
    out = matlab_imresize(ramp, 0.25)
    x = np.arange(out.shape[1])
    interior = (4 * x + 1.5 - 8 >= 0) & (4 * x + 1.5 + 8 <= width - 1)
    assert interior.sum() >= 15
    np.testing.assert_array_equal(out[:, interior], np.tile(8 * x[interior] + 3, (2, 1)))


def test_output_size_is_ceil_and_dtype_checked():
    assert matlab_imresize(np.zeros((10, 13), np.uint8), 0.25).shape == (3, 4)
    with pytest.raises(TypeError):
        matlab_imresize(np.zeros((8, 8), np.int32), 0.25)
    with pytest.raises(ValueError):
        matlab_imresize(np.zeros((8, 8), np.uint8), -1)


def test_x4_downscale_kernel_weights_by_hand():
    # x1/4: the kernel is stretched to 16 taps; output pixel 1 sits at input u = 1/0.25*... = 2.5 (1-based).
    # Its weights are 0.25 * cubic(0.25 * (2.5 - j)) for j = -6..11, normalised; mirrored taps fold onto 1..8+.
    from restorers.degradations.bicubic import contributions

    weights, indices = contributions(32, 8, 0.25, True)
    u = 2.5
    taps = np.arange(math.floor(u - 8), math.floor(u - 8) + 18)
    raw = 0.25 * cubic_kernel(0.25 * (u - taps))
    raw = raw / raw.sum()
    kept = raw != 0
    np.testing.assert_allclose(weights[0], raw[kept], atol=1e-15)
    assert math.isclose(weights[0].sum(), 1.0, abs_tol=1e-12)
    # 1-based taps -6..-1, 0 mirror onto 6..1, 1 (0-based): index of tap j<=0 is -j (0-based)
    expected_index = [(-j if j <= 0 else j - 1) for j in taps[kept]]
    np.testing.assert_array_equal(indices[0], expected_index)


def test_hand_computed_pixel_of_an_x4_downscale():
    # Interior output pixel (row 2, col 3) of a separable image f(r, c) = g(r) + h(c): both passes are
    # linear, so the output is the 1-D weighted sums of g and h added, rounded once.
    from restorers.degradations.bicubic import contributions

    g = np.array([(7 * r * r) % 97 for r in range(40)], dtype=np.float64)
    h = np.array([(13 * c + c * c) % 89 for c in range(44)], dtype=np.float64)
    image = (g[:, None] + h[None, :]).astype(np.uint8)  # max 96 + 88 < 256
    wr, ir = contributions(40, 10, 0.25, True)
    wc, ic = contributions(44, 11, 0.25, True)
    value = (wr[2] * g[ir[2]]).sum() + (wc[3] * h[ic[3]]).sum()
    assert matlab_imresize(image, 0.25)[2, 3] == int(np.floor(value + 0.5))


def test_uint8_result_is_the_float_path_rounded_once():
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, size=(64, 48, 3), dtype=np.uint8)
    exact = matlab_imresize(image.astype(np.float64), 0.25)
    np.testing.assert_array_equal(matlab_imresize(image, 0.25), np.clip(round_half_away(exact), 0, 255))
    # and it is not what rounding after each pass gives (the bug this guards against)
    from restorers.degradations.bicubic import to_uint8_matlab

    rows = to_uint8_matlab(matlab_imresize(image.astype(np.float64), output_shape=(16, 48)))
    per_pass = matlab_imresize(rows.astype(np.float64), output_shape=(16, 12))
    assert np.any(to_uint8_matlab(per_pass) != matlab_imresize(image, 0.25))
