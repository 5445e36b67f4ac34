// depthwise_conv2d and conv_transpose2d (and upsample2d) beyond their gradients
// (test_gradients.cpp) and PyTorch's values (test_golden_cnn.cpp): forward against naive loops in
// float and double, one core against two bit for bit, a small network of both that learns through
// kiln::trainer, and its model file's round trip.
#include "support/temp_dir.hpp"
#include "support/training_run.hpp"

#include <kiln/kiln.hpp>
#include <kiln/train/checkpoint.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <span>
#include <vector>

namespace {

using kiln::testing::run_training;
using kiln::testing::same_bits;
using kiln::testing::temp_dir;

// Output channel o of pixel (i, j): bias + the sum over taps inside the image of
// x[tap][o / M] W[tap][o], one loop per index, in long double.
template <class Layer, class T>
std::vector<T> naive_depthwise(const std::vector<T>& params, const std::vector<T>& x,
                               std::size_t batch) {
    constexpr std::size_t K = Layer::spec::kernel, S = Layer::spec::stride;
    constexpr std::size_t D = Layer::spec::dilation, M = Layer::spec::multiplier;
    constexpr std::size_t C = Layer::channels, O = Layer::out_channels;
    constexpr std::size_t H = Layer::height, W = Layer::width;
    constexpr std::size_t OH = Layer::out_height, OW = Layer::out_width;
    constexpr kiln::padding pad = Layer::spec::zero_padding;
    constexpr long before = pad.is_same ? long(D * (K - 1) / 2) : long(pad.zeros);
    std::vector<T> y(batch * OH * OW * O);
    for (std::size_t n = 0; n < batch; ++n)
        for (std::size_t i = 0; i < OH; ++i)
            for (std::size_t j = 0; j < OW; ++j)
                for (std::size_t o = 0; o < O; ++o) {
                    long double sum = params[Layer::bias_offset + o];
                    for (std::size_t di = 0; di < K; ++di)
                        for (std::size_t dj = 0; dj < K; ++dj) {
                            const long row = long(i * S + di * D) - before;
                            const long column = long(j * S + dj * D) - before;
                            if (row < 0 || row >= long(H) || column < 0 || column >= long(W))
                                continue; // zero padding
                            sum += (long double)x[((n * H + row) * W + column) * C + o / M] *
                                   params[Layer::weight_at(di, dj, o)];
                        }
                    y[((n * OH + i) * OW + j) * O + o] = static_cast<T>(sum);
                }
    return y;
}

// Filter f of output pixel (i, j): bias + the sum over input pixels (a, b) and taps
// (di, dj) with a Stride + di - Padding = i (and so for columns) of x[a][b][c] W[di][dj][c][f].
template <class Layer, class T>
std::vector<T> naive_transposed(const std::vector<T>& params, const std::vector<T>& x,
                                std::size_t batch) {
    constexpr std::size_t K = Layer::spec::kernel, S = Layer::spec::stride;
    constexpr long P = long(Layer::spec::zero_padding);
    constexpr std::size_t F = Layer::spec::filters, C = Layer::channels;
    constexpr std::size_t H = Layer::height, W = Layer::width;
    constexpr std::size_t OH = Layer::out_height, OW = Layer::out_width;
    std::vector<long double> sums(batch * OH * OW * F);
    for (std::size_t n = 0; n < batch; ++n)
        for (std::size_t i = 0; i < OH; ++i)
            for (std::size_t j = 0; j < OW; ++j)
                for (std::size_t f = 0; f < F; ++f)
                    sums[((n * OH + i) * OW + j) * F + f] = params[Layer::bias_offset + f];
    for (std::size_t n = 0; n < batch; ++n)
        for (std::size_t a = 0; a < H; ++a)
            for (std::size_t b = 0; b < W; ++b)
                for (std::size_t di = 0; di < K; ++di)
                    for (std::size_t dj = 0; dj < K; ++dj) {
                        const long i = long(a * S + di) - P, j = long(b * S + dj) - P;
                        if (i < 0 || i >= long(OH) || j < 0 || j >= long(OW)) continue;
                        for (std::size_t c = 0; c < C; ++c)
                            for (std::size_t f = 0; f < F; ++f)
                                sums[((n * OH + i) * OW + j) * F + f] +=
                                    (long double)x[((n * H + a) * W + b) * C + c] *
                                    params[Layer::weight_at(di, dj, c, f)];
                    }
    return {sums.begin(), sums.end()};
}

template <class T, class Net>
void check_forward(std::size_t batch, std::size_t threads) {
    using layer = typename Net::template layer_t<1>;
    kiln::thread_pool pool(threads);
    kiln::model<Net, T> net(kiln::init::normal{0.0, 0.5}, 3);
    kiln::workspace<Net, T> space(batch, pool);
    space.set_min_flops_per_split(0);
    std::vector<T> x(batch * Net::input_shape::size);
    kiln::rng random(4);
    for (T& v : x)
        v = static_cast<T>(random.normal());
    const auto out = kiln::forward(
        net, space, kiln::batch_view<typename Net::input_shape, const T>(x.data(), batch));
    const T* const slice = net.template parameters_of<1>();
    const std::vector<T> params(slice, slice + layer::storage_size);
    std::vector<T> expected;
    if constexpr (requires { layer::spec::multiplier; })
        expected = naive_depthwise<layer, T>(params, x, batch);
    else
        expected = naive_transposed<layer, T>(params, x, batch);
    REQUIRE(out.size() == expected.size());
    const double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-12;
    for (std::size_t i = 0; i < expected.size(); ++i)
        REQUIRE(std::abs(double(out.data()[i]) - double(expected[i])) <=
                tolerance * std::max(1.0, std::abs(double(expected[i]))));
}

// Channels that fill registers and a tail, two filters a channel, padding and dilation.
using plain = kiln::sequential<kiln::input<9, 8, 19>, kiln::depthwise_conv2d<1, 3>>;
using padded = kiln::sequential<kiln::input<9, 8, 19>, kiln::depthwise_conv2d<1, 3, 1, kiln::same>>;
using multiplied = kiln::sequential<kiln::input<8, 9, 5>, kiln::depthwise_conv2d<2, 3, 2, 1, 2>>;

// Filters that fill registers and a tail, output padding, a kernel below the stride.
using transposed = kiln::sequential<kiln::input<5, 6, 7>, kiln::conv_transpose2d<19, 3, 2, 1, 1>>;
using sparse_transposed = kiln::sequential<kiln::input<4, 5, 3>, kiln::conv_transpose2d<5, 2, 3>>;
// A kernel as wide as the stride: each output pixel the product of one input pixel.
using tiled_transposed = kiln::sequential<kiln::input<5, 4, 6>, kiln::conv_transpose2d<16, 2, 2>>;

// A small network of both: depthwise, pointwise (a 1x1 conv2d), a strided depthwise
// that halves the image, a transposed convolution that doubles it back, nearest
// upsampling, pooling.
using separable =
    kiln::sequential<kiln::input<10, 10, 3>, kiln::depthwise_conv2d<2, 3, 1, kiln::same>,
                     kiln::relu, kiln::conv2d<8, 1>, kiln::relu, kiln::depthwise_conv2d<1, 3, 2, 1>,
                     kiln::relu, kiln::conv_transpose2d<6, 2, 2>, kiln::relu, kiln::upsample2d<2>,
                     kiln::global_avg_pool2d, kiln::linear<4>>;

// Depthwise over 19 channels: a register and a tail, which two cores share out.
using wide_separable =
    kiln::sequential<kiln::input<6, 7, 19>, kiln::depthwise_conv2d<1, 3, 1, kiln::same>, kiln::relu,
                     kiln::conv2d<4, 1>, kiln::global_avg_pool2d, kiln::linear<3>>;

} // namespace

TEST_SUITE("conv") {
    TEST_CASE_TEMPLATE("depthwise_conv2d forward matches naive loops, on one thread and two", T,
                       float, double) {
        for (std::size_t threads : {1, 2}) {
            check_forward<T, plain>(3, threads);
            check_forward<T, padded>(3, threads);
            check_forward<T, multiplied>(3, threads);
        }
    }

    TEST_CASE_TEMPLATE("conv_transpose2d forward matches naive loops, on one thread and two", T,
                       float, double) {
        for (std::size_t threads : {1, 2}) {
            check_forward<T, transposed>(3, threads);
            check_forward<T, sparse_transposed>(3, threads);
            check_forward<T, tiled_transposed>(3, threads);
        }
    }

    // At batch 5 the depthwise layers' weight gradients split by examples
    // (depthwise_conv2d::backward_partials), at batch 1 by channels; three threads
    // split a half's channels too.
    static_assert(wide_separable::layer_t<1>::splits_by_examples(5) &&
                  !wide_separable::layer_t<1>::splits_by_examples(1));
    TEST_CASE_TEMPLATE("depthwise and transposed: two and three threads give one thread's "
                       "training bit for bit",
                       T, float, double) {
        const auto check = [](auto network, std::size_t batch) {
            using net = decltype(network);
            const auto one = run_training<net, T>(batch);
            for (std::size_t threads : {2, 3}) {
                INFO("batch ", batch, ", threads ", threads);
                const auto more = run_training<net, T>(batch, {.threads = threads});
                CHECK(same_bits(one.logits, more.logits));
                CHECK(same_bits(one.gradients, more.gradients));
                CHECK(same_bits(one.input_gradient, more.input_gradient));
                CHECK(same_bits(one.parameters_after_steps, more.parameters_after_steps));
            }
        };
        for (std::size_t batch : {1, 5}) {
            check(separable{}, batch);
            check(wide_separable{}, batch);
        }
    }

    TEST_CASE("a network of depthwise and transposed convolutions learns through kiln::trainer, "
              "and its model file loads back bit for bit") {
        // Four classes: which quadrant of a 10 x 10 x 3 image holds a bright blob.
        constexpr std::size_t examples = 64;
        using input = separable::input_shape;
        std::vector<float> x(examples * input::size);
        std::vector<kiln::label_t> labels(examples);
        kiln::rng random(11);
        for (std::size_t n = 0; n < examples; ++n) {
            labels[n] = kiln::label_t(n % 4);
            const std::size_t top = labels[n] / 2 * 5, left = labels[n] % 2 * 5;
            for (std::size_t i = 0; i < 10; ++i)
                for (std::size_t j = 0; j < 10; ++j)
                    for (std::size_t c = 0; c < 3; ++c) {
                        const bool blob =
                            i >= top + 1 && i < top + 4 && j >= left + 1 && j < left + 4;
                        x[(n * input::size) + (i * 10 + j) * 3 + c] =
                            static_cast<float>((blob ? 1.0 : 0.0) + 0.1 * random.normal());
                    }
        }
        kiln::model<separable> net(kiln::init::pytorch_default{}, 2);
        kiln::trainer<separable, kiln::softmax_cross_entropy, kiln::adamw> train(
            net, kiln::adamw{.learning_rate = 0.01}, examples);
        const kiln::batch_view<input, const float> inputs(x.data(), examples);
        const kiln::label_view<4> targets(labels.data(), examples);
        const float first = train.step(inputs, targets);
        float last = first;
        for (int step = 0; step < 150; ++step)
            last = train.step(inputs, targets);
        INFO("loss ", first, " -> ", last);
        CHECK(last < 0.1f * first);

        temp_dir dir;
        kiln::save_model(dir / "separable.kiln", net);
        kiln::model<separable> loaded(kiln::init::normal{0, 0.1}, 99);
        kiln::load_model(dir / "separable.kiln", loaded);
        CHECK(std::equal(loaded.parameters().begin(), loaded.parameters().end(),
                         net.parameters().begin()));
    }
}
