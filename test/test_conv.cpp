// The image layers (conv2d, max_pool2d, reshape): shapes and parameter counts
// stated by the compiler; forward against naive loops; every backward against
// central differences in double; the fused network against the unfused one, and
// two threads against one, bit for bit.
#include <kiln/kiln.hpp>

#include <doctest/doctest.h>

#include "support/gradient_probe.hpp"
#include "support/training_run.hpp"

#include <cmath>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

namespace {

// The course's three networks (SEED.md part E).
using mlp = kiln::sequential<kiln::input<28, 28>, kiln::flatten, kiln::linear<128>, kiln::relu,
                             kiln::linear<10>>;
using cnn2 = kiln::sequential<kiln::input<28, 28>, kiln::conv2d<64, 7>, kiln::relu,
                              kiln::max_pool2d<2>, kiln::flatten, kiln::linear<10>>;
using cnn3 = kiln::sequential<kiln::input<28, 28, 1>, kiln::conv2d<64, 7>, kiln::relu,
                              kiln::max_pool2d<2>, kiln::conv2d<128, 2>, kiln::relu,
                              kiln::max_pool2d<2>, kiln::flatten, kiln::linear<10>>;
static_assert(mlp::param_count == 101'770);
static_assert(cnn2::param_count == 80'650);
static_assert(cnn3::param_count == 68'106);
static_assert(std::is_same_v<cnn2::shape_after<1>, kiln::shape<22, 22, 64>>);
static_assert(std::is_same_v<cnn2::shape_after<3>, kiln::shape<11, 11, 64>>);
static_assert(std::is_same_v<cnn3::shape_after<4>, kiln::shape<10, 10, 128>>);
static_assert(std::is_same_v<cnn3::shape_after<6>, kiln::shape<5, 5, 128>>);
static_assert(std::is_same_v<cnn3::shape_after<7>, kiln::shape<3200>>);

// Lowering: relu after a conv is applied by the conv; relu before a pool or a conv
// passes its gradient, which the next layer masks.
static_assert(std::is_same_v<cnn3::layer_t<1>::applied, kiln::relu> && cnn3::layer_t<2>::is_view);
static_assert(cnn3::layer_t<2>::passes_gradient &&
              std::is_same_v<cnn3::layer_t<3>::absorbed, kiln::relu>);
static_assert(std::is_same_v<cnn3::layer_t<4>::absorbed, kiln::no_activation>);

// Pooling rounds down and keeps the rank; stride shrinks as PyTorch's does.
using odd = kiln::sequential<kiln::input<7, 9>, kiln::max_pool2d<2>, kiln::reshape<3, 4, 1>,
                             kiln::conv2d<5, 2, 2>>;
static_assert(std::is_same_v<odd::shape_after<1>, kiln::shape<3, 4>>);
static_assert(std::is_same_v<odd::shape_after<2>, kiln::shape<3, 4, 1>>);
static_assert(std::is_same_v<odd::output_shape, kiln::shape<1, 2, 5>>);
static_assert(odd::param_count == 2 * 2 * 5 + 5);

std::vector<double> random_values(std::size_t count, std::uint64_t seed) {
    kiln::rng random(seed);
    std::vector<double> values(count);
    for (auto& v : values)
        v = random.normal();
    return values;
}

using kiln::testing::probe;
using kiln::testing::relative_error;
using kiln::testing::run_training;
using kiln::testing::same_bits;

// ---------------------------------------------------------------------------
// Naive references, one loop per index, in long double.

template <class Layer, class T>
std::vector<T> naive_conv(const std::vector<T>& params, const std::vector<T>& x, std::size_t batch,
                          bool relu) {
    constexpr std::size_t K = Layer::spec::kernel, S = Layer::spec::stride;
    constexpr std::size_t D = Layer::spec::dilation;
    constexpr std::size_t F = Layer::spec::filters, C = Layer::channels;
    constexpr std::size_t H = Layer::height, W = Layer::width;
    constexpr std::size_t OH = Layer::out_height, OW = Layer::out_width;
    // PyTorch's rule: `same` pads D (K - 1) in all, the odd one after.
    constexpr kiln::padding pad = Layer::spec::zero_padding;
    constexpr long before = pad.is_same ? long(D * (K - 1) / 2) : long(pad.zeros);
    std::vector<T> y(batch * OH * OW * F);
    for (std::size_t n = 0; n < batch; ++n)
        for (std::size_t i = 0; i < OH; ++i)
            for (std::size_t j = 0; j < OW; ++j)
                for (std::size_t f = 0; f < F; ++f) {
                    long double sum = params[Layer::bias_at(f)];
                    for (std::size_t di = 0; di < K; ++di)
                        for (std::size_t dj = 0; dj < K; ++dj) {
                            const long row = long(i * S + di * D) - before;
                            const long column = long(j * S + dj * D) - before;
                            if (row < 0 || row >= long(H) || column < 0 || column >= long(W))
                                continue; // zero padding
                            for (std::size_t ch = 0; ch < C; ++ch)
                                sum += (long double)x[((n * H + row) * W + column) * C + ch] *
                                       params[Layer::weight_at(di, dj, ch, f)];
                        }
                    if (relu && sum < 0) sum = 0;
                    y[((n * OH + i) * OW + j) * F + f] = static_cast<T>(sum);
                }
    return y;
}

template <class Layer, class T>
std::vector<T> naive_pool(const std::vector<T>& x, std::size_t batch) {
    constexpr std::size_t P = Layer::spec::size, C = Layer::channels;
    constexpr std::size_t H = Layer::height, W = Layer::width;
    constexpr std::size_t OH = Layer::out_height, OW = Layer::out_width;
    std::vector<T> y(batch * OH * OW * C);
    for (std::size_t n = 0; n < batch; ++n)
        for (std::size_t i = 0; i < OH; ++i)
            for (std::size_t j = 0; j < OW; ++j)
                for (std::size_t ch = 0; ch < C; ++ch) {
                    T best = x[((n * H + i * P) * W + j * P) * C + ch];
                    for (std::size_t di = 0; di < P; ++di)
                        for (std::size_t dj = 0; dj < P; ++dj)
                            best =
                                std::max(best, x[((n * H + i * P + di) * W + j * P + dj) * C + ch]);
                    y[((n * OH + i) * OW + j) * C + ch] = best;
                }
    return y;
}

// One conv layer's forward in T against the naive loops, on `threads` threads.
template <class T, class Net>
void check_conv_forward(std::size_t batch, std::size_t threads) {
    using layer = typename Net::template layer_t<1>;
    kiln::thread_pool pool(threads);
    kiln::model<Net, T> net(kiln::init::normal{0, 0.5}, 3);
    kiln::workspace<Net, T> space(batch, pool);
    space.set_min_flops_per_split(0);
    std::vector<T> x(batch * Net::input_shape::size);
    const auto values = random_values(x.size(), 4);
    std::copy(values.begin(), values.end(), x.begin());
    const auto out = kiln::forward(
        net, space, kiln::batch_view<typename Net::input_shape, const T>(x.data(), batch));
    const T* const slice = net.template parameters_of<1>();
    const std::vector<T> params(slice, slice + layer::storage_size);
    const auto expected =
        naive_conv<layer, T>(params, x, batch, std::is_same_v<typename layer::applied, kiln::relu>);
    REQUIRE(out.size() == expected.size());
    const double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-13;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        INFO("output ", i);
        REQUIRE(double(out.data()[i]) ==
                doctest::Approx(double(expected[i])).epsilon(tolerance).scale(1));
    }
}

// ---------------------------------------------------------------------------
// Fused against unfused, and two threads against one: logits, gradients, input
// gradient and the parameters after three SGD steps with momentum.

// Both conv paths (one channel and many), relu before a pool and before a conv,
// odd sizes that leave rows and columns unpooled, partial registers everywhere.
template <template <class, class...> class Sequential>
using small_cnn =
    Sequential<kiln::input<13, 12>, kiln::conv2d<20, 3>, kiln::relu, kiln::max_pool2d<2>,
               kiln::conv2d<70, 2>, kiln::relu, kiln::max_pool2d<2>, kiln::relu, kiln::conv2d<9, 1>,
               kiln::flatten, kiln::linear<5>>;
using fused_cnn = small_cnn<kiln::sequential>;
using unfused_cnn = small_cnn<kiln::unfused_sequential>;
static_assert(fused_cnn::layer_t<5>::passes_gradient && fused_cnn::layer_t<7>::passes_gradient);
static_assert(std::is_same_v<fused_cnn::layer_t<6>::absorbed, kiln::relu>);
static_assert(std::is_same_v<fused_cnn::layer_t<8>::absorbed, kiln::relu>);
static_assert(!unfused_cnn::layer_t<2>::is_view && !unfused_cnn::layer_t<7>::passes_gradient);
// The first convolution's weight gradient splits by examples at batch 5 and by
// W's rows at batch 1; the second's, larger for its pixels, by W's rows at both.
static_assert(fused_cnn::layer_t<1>::splits_by_examples(5) &&
              !fused_cnn::layer_t<1>::splits_by_examples(1) &&
              !fused_cnn::layer_t<4>::splits_by_examples(5));

} // namespace

TEST_SUITE("conv") {
    TEST_CASE("the compiler states the course's parameter counts; summary prints them") {
        const std::string text = cnn3::summary();
        CHECK(text.find("conv2d<64, 7>") != std::string::npos);
        CHECK(text.find("(22, 22, 64)") != std::string::npos);
        CHECK(text.find("max_pool2d<2>") != std::string::npos);
        CHECK(text.find("32896") != std::string::npos);
        CHECK(text.find("total parameters: 68106") != std::string::npos);
        CHECK(cnn2::summary().find("total parameters: 80650") != std::string::npos);
    }

    TEST_CASE("conv2d: a rank-2 input is one channel") {
        probe<kiln::sequential<kiln::input<5, 4>, kiln::conv2d<3, 2>>>{}.check();
    }
    TEST_CASE("conv2d: channels, and filters that fill no register") {
        probe<kiln::sequential<kiln::input<6, 5, 3>, kiln::conv2d<5, 3>>>{}.check();
    }
    TEST_CASE("conv2d: many filters (several registers and a tail)") {
        probe<kiln::sequential<kiln::input<4, 4, 2>, kiln::conv2d<37, 2>>>{}.check();
    }
    TEST_CASE("conv2d: stride 2 drops what does not fit") {
        probe<kiln::sequential<kiln::input<7, 6, 2>, kiln::conv2d<4, 2, 2>>>{}.check();
    }
    TEST_CASE("conv2d: kernels that tile the image store each input gradient once") {
        // 2 x 2 at stride 2 over 6 x 4, then 1 x 1 masking the relu between: whole
        // registers of channels; then 1 x 1 over 3 channels, entry by entry.
        probe<kiln::sequential<kiln::input<6, 4, 16>, kiln::conv2d<16, 2, 2>, kiln::relu,
                               kiln::conv2d<3, 1>, kiln::gelu, kiln::conv2d<5, 1>>>{}
            .check();
    }
    TEST_CASE("conv2d -> relu -> conv2d: relu applied by the first, masked by the second") {
        probe<kiln::sequential<kiln::input<6, 6, 2>, kiln::conv2d<6, 2>, kiln::relu,
                               kiln::conv2d<3, 2>>>{}
            .check();
    }
    TEST_CASE("max_pool2d: odd sizes round down; the gradient goes to the maximum") {
        probe<kiln::sequential<kiln::input<5, 7, 3>, kiln::max_pool2d<2>>>{}.check();
        probe<kiln::sequential<kiln::input<7, 8>, kiln::max_pool2d<3>>>{}.check();
    }
    TEST_CASE("relu -> max_pool2d: the pool masks the gradient") {
        probe<kiln::sequential<kiln::input<6, 6, 2>, kiln::relu, kiln::max_pool2d<2>>>{}.check();
    }
    TEST_CASE("reshape is a view in both directions") {
        probe<kiln::sequential<kiln::input<12>, kiln::reshape<2, 3, 2>, kiln::conv2d<2, 2>,
                               kiln::flatten, kiln::linear<3>>>{}
            .check();
    }
    TEST_CASE("a small CNN, every parameter and input") {
        probe<kiln::sequential<kiln::input<10, 10>, kiln::conv2d<8, 3>, kiln::relu,
                               kiln::max_pool2d<2>, kiln::conv2d<6, 2>, kiln::relu,
                               kiln::max_pool2d<2>, kiln::flatten, kiln::linear<4>>>{}
            .check();
    }

    TEST_CASE("CNN2 and CNN3 with their loss: sampled entries of every layer") {
        // Batch 5 spans several of the weight gradient's example chunks.
        auto check = [](auto net_tag) {
            using net_type = typename decltype(net_tag)::type;
            using input = typename net_type::input_shape;
            kiln::model<net_type, double> net(kiln::init::pytorch_default{}, 42);
            kiln::trainer<net_type, kiln::softmax_cross_entropy, kiln::sgd, double> train(
                net, kiln::sgd{}, 5);
            kiln::rng random(8);
            std::vector<double> x(5 * input::size);
            for (auto& v : x)
                v = random.uniform();
            const kiln::label_t labels[5] = {3, 1, 4, 1, 5};
            const kiln::batch_view<input, const double> inputs(x.data(), 5);
            const kiln::label_view<10> targets(labels, 5);
            train.compute_gradients(inputs, targets);
            const std::vector<double> gradient(net.gradients().begin(), net.gradients().end());
            for (std::size_t j = 0; j < 150; ++j) {
                const std::size_t i = (j * 7919) % gradient.size();
                INFO("parameter ", i);
                REQUIRE(relative_error(gradient[i], kiln::numerical_gradient(train, inputs, targets,
                                                                             i, 1e-6)) < 1e-6);
            }
        };
        check(std::type_identity<cnn2>{});
        check(std::type_identity<cnn3>{});
    }

    TEST_CASE_TEMPLATE("conv2d forward matches naive loops, on one thread and two", T, float,
                       double) {
        for (std::size_t threads : {1, 2}) {
            // One channel (the course's first layer), relu fused in.
            check_conv_forward<
                T, kiln::sequential<kiln::input<12, 11>, kiln::conv2d<64, 7>, kiln::relu>>(3,
                                                                                           threads);
            // Several column blocks and a tail; stride 2.
            check_conv_forward<T, kiln::sequential<kiln::input<6, 7, 5>, kiln::conv2d<70, 2>>>(
                4, threads);
            check_conv_forward<T, kiln::sequential<kiln::input<9, 8, 3>, kiln::conv2d<10, 3, 2>>>(
                7, threads);
        }
    }

    TEST_CASE_TEMPLATE("padded and dilated conv2d forward matches naive loops, on one thread "
                       "and two",
                       T, float, double) {
        for (std::size_t threads : {1, 2}) {
            // `same` on one channel, relu fused in: the frame's tiles gather their patches.
            check_conv_forward<T, kiln::sequential<kiln::input<12, 11>,
                                                   kiln::conv2d<16, 3, 1, kiln::same>, kiln::relu>>(
                3, threads);
            // An even kernel under `same` pads one more after; several column blocks.
            check_conv_forward<
                T, kiln::sequential<kiln::input<6, 7, 5>, kiln::conv2d<70, 4, 1, kiln::same>>>(
                4, threads);
            // Explicit padding with stride 2; padding wider than the kernel reaches.
            check_conv_forward<T,
                               kiln::sequential<kiln::input<9, 8, 3>, kiln::conv2d<10, 3, 2, 1>>>(
                7, threads);
            check_conv_forward<T, kiln::sequential<kiln::input<5, 4, 2>, kiln::conv2d<9, 2, 1, 3>>>(
                2, threads);
            // Dilation without padding (in place), and with `same`.
            check_conv_forward<
                T, kiln::sequential<kiln::input<11, 10, 3>, kiln::conv2d<12, 3, 1, 0, 2>>>(3,
                                                                                           threads);
            check_conv_forward<
                T, kiln::sequential<kiln::input<10, 9, 4>, kiln::conv2d<8, 3, 1, kiln::same, 3>>>(
                3, threads);
            check_conv_forward<
                T, kiln::sequential<kiln::input<10, 9, 2>, kiln::conv2d<6, 2, 3, 2, 2>>>(3,
                                                                                         threads);
        }
    }

    TEST_CASE_TEMPLATE("max_pool2d forward matches naive loops", T, float, double) {
        using net_type = kiln::sequential<kiln::input<9, 7, 19>, kiln::max_pool2d<2>>;
        kiln::model<net_type, T> net;
        kiln::workspace<net_type, T> space(3);
        std::vector<T> x(3 * 9 * 7 * 19);
        const auto values = random_values(x.size(), 7);
        std::copy(values.begin(), values.end(), x.begin());
        const auto out = kiln::forward(
            net, space, kiln::batch_view<kiln::shape<9, 7, 19>, const T>(x.data(), 3));
        const auto expected = naive_pool<net_type::layer_t<1>, T>(x, 3);
        CHECK(same_bits(std::vector<T>(out.data(), out.data() + out.size()), expected));
    }

    TEST_CASE("max_pool2d: ties send the gradient to the first maximum, as PyTorch does") {
        using net_type = kiln::sequential<kiln::input<2, 4>, kiln::max_pool2d<2>>;
        kiln::model<net_type, double> net;
        kiln::workspace<net_type, double> space(1);
        const double x[8] = {1, 3, 5, 5, //
                             3, 2, 5, 4};
        const auto out =
            kiln::forward(net, space, kiln::batch_view<kiln::shape<2, 4>, const double>(x, 1));
        CHECK(out.data()[0] == 3);
        CHECK(out.data()[1] == 5);
        kiln::output_gradient(space).data()[0] = 10;
        kiln::output_gradient(space).data()[1] = 20;
        double dx[8];
        kiln::backward(net, space, dx);
        const double expected[8] = {0, 10, 20, 0, 0, 0, 0, 0};
        for (int i = 0; i < 8; ++i)
            CHECK(dx[i] == expected[i]);
    }

    TEST_CASE_TEMPLATE("the fused CNN gives the unfused results bit for bit", T, float, double) {
        for (std::size_t batch : {1, 4}) {
            const auto fused = run_training<fused_cnn, T>(batch);
            const auto unfused = run_training<unfused_cnn, T>(batch);
            CHECK(same_bits(fused.logits, unfused.logits));
            CHECK(same_bits(fused.gradients, unfused.gradients));
            CHECK(same_bits(fused.input_gradient, unfused.input_gradient));
            CHECK(same_bits(fused.parameters_after_steps, unfused.parameters_after_steps));
        }
    }

    // At batch 5 the first convolution's weight gradient splits by examples, in two
    // halves (conv2d::backward_partials): three threads split a half's rows too.
    TEST_CASE_TEMPLATE("two and three threads give one thread's results bit for bit", T, float,
                       double) {
        for (std::size_t batch : {1, 5})
            for (std::size_t threads : {2, 3}) {
                INFO("batch ", batch, ", threads ", threads);
                const auto one = run_training<fused_cnn, T>(batch);
                const auto more = run_training<fused_cnn, T>(batch, {.threads = threads});
                CHECK(same_bits(one.logits, more.logits));
                CHECK(same_bits(one.gradients, more.gradients));
                CHECK(same_bits(one.input_gradient, more.input_gradient));
                CHECK(same_bits(one.parameters_after_steps, more.parameters_after_steps));
            }
    }
}
