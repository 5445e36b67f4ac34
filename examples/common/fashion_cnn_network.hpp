#pragma once
// The network of examples/fashion_cnn.cpp: a small CNN in the style of MobileNet
// for 28 x 28 grey images. A 3 x 3 convolution makes 32 channels; then four
// depthwise-separable blocks (a 3 x 3 depthwise convolution, then a 1 x 1
// convolution that mixes the channels, each followed by batch_norm and relu) make
// 64, 128, 128 and 256 channels, with a max-pool after the first and the third;
// global average pooling, dropout and a linear layer give the 10 scores. Every
// 3 x 3 convolution is `same`-padded. batch_norm stands at the top level (not in
// a kiln::block), so the network is written out flat.
// bench/peers/fashion_cnn.py builds the same network in PyTorch.
#include <kiln/kiln.hpp>

namespace kiln::examples::fashion_cnn {

using bn = kiln::batch_norm<>;
using depthwise = kiln::depthwise_conv2d<1, 3, 1, kiln::same>;
template <std::size_t Filters>
using pointwise = kiln::conv2d<Filters, 1>;

using network =
    kiln::sequential<kiln::input<28, 28>, kiln::conv2d<32, 3, 1, kiln::same>, bn, kiln::relu,
                     depthwise, bn, kiln::relu, pointwise<64>, bn, kiln::relu, kiln::max_pool2d<2>,
                     depthwise, bn, kiln::relu, pointwise<128>, bn, kiln::relu, depthwise, bn,
                     kiln::relu, pointwise<128>, bn, kiln::relu, kiln::max_pool2d<2>, depthwise, bn,
                     kiln::relu, pointwise<256>, bn, kiln::relu, kiln::global_avg_pool2d,
                     kiln::dropout<0.3>, kiln::linear<10>>;

// PyTorch's count for the same network (bench/peers/fashion_cnn.py prints it).
static_assert(network::param_count == 68'298);

// The recipe both sides train with.
inline constexpr std::size_t batch = 32;
inline constexpr double learning_rate = 2e-3;
inline constexpr std::size_t epochs = 8;

} // namespace kiln::examples::fashion_cnn
