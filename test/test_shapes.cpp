// Shape inference, parameter counts and the parameter layout, checked by the
// compiler (static_assert) and again at run time.
#include <kiln/kiln.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <type_traits>

namespace {

using mlp = kiln::sequential<kiln::input<784>, kiln::linear<128>, kiln::relu, kiln::linear<10>>;
using image_mlp = kiln::sequential<kiln::input<28, 28>, kiln::flatten, kiln::linear<128>,
                                   kiln::relu, kiln::linear<10>>;
using sequence =
    kiln::sequential<kiln::input<32, 64>, kiln::linear<256>, kiln::relu, kiln::linear_no_bias<65>>;

static_assert(mlp::param_count == 101'770);
static_assert(std::is_same_v<mlp::input_shape, kiln::shape<784>>);
static_assert(std::is_same_v<mlp::output_shape, kiln::shape<10>>);
static_assert(std::is_same_v<mlp::shape_after<0>, kiln::shape<784>>);
static_assert(std::is_same_v<mlp::shape_after<1>, kiln::shape<128>>);
static_assert(std::is_same_v<mlp::shape_after<2>, kiln::shape<128>>);
static_assert(mlp::layer_count == 3);

static_assert(image_mlp::param_count == 101'770);
static_assert(std::is_same_v<image_mlp::shape_after<1>, kiln::shape<784>>);

// linear acts on the last axis; the bias-free variant has in * out parameters.
static_assert(std::is_same_v<sequence::shape_after<1>, kiln::shape<32, 256>>);
static_assert(std::is_same_v<sequence::output_shape, kiln::shape<32, 65>>);
static_assert(sequence::param_count == 64 * 256 + 256 + 256 * 65);

static_assert(kiln::shape<28, 28, 3>::size == 2352);
static_assert(kiln::shape<28, 28, 3>::rank == 3);
static_assert(std::is_same_v<kiln::replace_last_t<kiln::shape<4, 5, 6>, 9>, kiln::shape<4, 5, 9>>);

// Token ids: the data stays shape<Block>; the first layer receives them as token_ids.
using small_gpt = kiln::sequential<kiln::tokens<8, 11>, kiln::embedding<11, 16>, kiln::layer_norm,
                                   kiln::linear<11>>;
static_assert(std::is_same_v<small_gpt::input_shape, kiln::shape<8>>);
static_assert(std::is_same_v<small_gpt::shape_after<0>, kiln::shape<8>>);
static_assert(std::is_same_v<small_gpt::layer_t<1>::in_shape, kiln::token_ids<8, 11>>);
static_assert(std::is_same_v<small_gpt::shape_after<1>, kiln::shape<8, 16>>);
static_assert(kiln::token_ids<8, 11>::size == 8 && kiln::token_ids<8, 11>::rank == 1);

// The rule a network breaks, as a type: basic_sequential states it without reporting it.
template <class Input, class... Specs>
using diagnostic_of =
    typename kiln::basic_sequential<true, Input, Specs...>::broken_rule::diagnostic;
template <std::size_t Position, class Spec>
using at = kiln::layer<Position, Spec>;

// Only a lookup of their vocabulary reads token ids, and a lookup reads nothing else,
// wherever it stands (inside a residual too, named by its path).
static_assert(std::is_same_v<
              diagnostic_of<kiln::tokens<8, 11>, kiln::relu, kiln::linear<4>>,
              kiln::error::token_ids_need_a_lookup<at<1, kiln::relu>, kiln::token_ids<8, 11>>>);
static_assert(std::is_same_v<
              diagnostic_of<kiln::input<10>, kiln::linear<10>, kiln::embedding<10, 4>>,
              kiln::error::lookup_needs_token_ids<at<2, kiln::embedding<10, 4>>, kiln::shape<10>>>);
static_assert(
    std::is_same_v<
        diagnostic_of<kiln::tokens<8, 11>, kiln::embedding<11, 16>,
                      kiln::residual<kiln::embedding<11, 16>>>,
        kiln::error::lookup_needs_token_ids<
            kiln::layer<2, kiln::residual<kiln::embedding<11, 16>>, at<1, kiln::embedding<11, 16>>>,
            kiln::shape<8, 16>>>);
static_assert(std::is_same_v<
              diagnostic_of<kiln::tokens<8, 11>, kiln::embedding<12, 16>>,
              kiln::error::lookup_of_another_vocabulary<
                  at<1, kiln::embedding<12, 16>>, kiln::token_ids<8, 11>, kiln::token_ids<8, 12>>>);

// An image written channels first is named as such where an image layer reads it.
static_assert(std::is_same_v<
              diagnostic_of<kiln::input<1, 28, 28>, kiln::relu, kiln::max_pool2d<2>>,
              kiln::error::image_written_channels_first<
                  at<2, kiln::max_pool2d<2>>, kiln::shape<1, 28, 28>, kiln::shape<28, 28, 1>>>);
static_assert(kiln::channels_first<kiln::shape<3, 32, 32>, 3, 1>::likely);
static_assert(!kiln::channels_first<kiln::shape<32, 32, 3>, 3, 1>::likely);
// Within a network a short, wide map that the window fits is a plausible image.
static_assert(!kiln::channels_first<kiln::shape<4, 28, 16>, 3, 3>::likely);
static_assert(kiln::channels_first<kiln::shape<4, 28, 16>, 5, 3>::likely);

// A loss that reads one vector per example, given more axes, is told what made them.
using cnn_without_flatten =
    kiln::sequential<kiln::input<28, 28>, kiln::conv2d<8, 3>, kiln::relu, kiln::max_pool2d<2>,
                     kiln::linear<64>, kiln::relu, kiln::linear<10>>;
using conv_ending = kiln::sequential<kiln::input<28, 28>, kiln::conv2d<10, 28>>;
template <class Net, class Loss>
using loss_diagnostic = typename kiln::loss_rules<Net, Loss>::diagnostic;
static_assert(std::is_same_v<
              loss_diagnostic<cnn_without_flatten, kiln::softmax_cross_entropy>,
              kiln::error::flatten_missing_before_linear<
                  kiln::softmax_cross_entropy, at<4, kiln::linear<64>>, kiln::shape<13, 13, 10>>>);
static_assert(std::is_same_v<
              loss_diagnostic<sequence, kiln::multiclass_perceptron>,
              kiln::error::flatten_missing_before_linear<
                  kiln::multiclass_perceptron, at<1, kiln::linear<256>>, kiln::shape<32, 65>>>);
static_assert(
    std::is_same_v<loss_diagnostic<small_gpt, kiln::softmax_cross_entropy>,
                   kiln::error::sequence_output_needs_a_sequence_loss<
                       kiln::softmax_cross_entropy, at<3, kiln::linear<11>>, kiln::shape<8, 11>>>);
static_assert(std::is_same_v<loss_diagnostic<conv_ending, kiln::softmax_cross_entropy>,
                             kiln::error::output_is_not_one_vector<kiln::softmax_cross_entropy,
                                                                   at<1, kiln::conv2d<10, 28>>,
                                                                   kiln::shape<1, 1, 10>>>);
static_assert(
    std::is_same_v<loss_diagnostic<mlp, kiln::adamw>, kiln::error::not_a_loss<kiln::adamw>>);
static_assert(kiln::loss_rules<mlp, kiln::softmax_cross_entropy>::holds);
static_assert(kiln::loss_rules<small_gpt, kiln::sequence_cross_entropy>::holds);
static_assert(!kiln::loss_rules<mlp, kiln::logistic>::holds); // ten scores, not one

} // namespace

TEST_SUITE("shapes") {
    TEST_CASE("shapes print as tuples") {
        CHECK(kiln::shape<28, 28>::to_string() == "(28, 28)");
        CHECK(kiln::shape<10>::to_string() == "(10)");
    }

    TEST_CASE("summary lists each layer's output shape and parameters") {
        const std::string text = image_mlp::summary();
        CHECK(text.find("input<28, 28>") != std::string::npos);
        CHECK(text.find("flatten") != std::string::npos);
        CHECK(text.find("(784)") != std::string::npos);
        CHECK(text.find("100480") != std::string::npos);
        CHECK(text.find("1290") != std::string::npos);
        CHECK(text.find("total parameters: 101770") != std::string::npos);
    }

    TEST_CASE("every layer's slice starts on a cache line and the slices do not overlap") {
        using layout = kiln::parameter_layout<mlp>;
        CHECK(layout::offsets[1] == 0);
        CHECK(layout::offsets[2] % kiln::slice_alignment == 0);
        CHECK(layout::offsets[3] % kiln::slice_alignment == 0);
        CHECK(layout::offsets[3] >= layout::offsets[1] + 784 * 128 + 128);
        CHECK(layout::storage_size >= layout::offsets[3] + 128 * 10 + 10);
        kiln::model<mlp> net;
        CHECK(reinterpret_cast<std::uintptr_t>(net.parameters().data()) % 64 == 0);
        CHECK(reinterpret_cast<std::uintptr_t>(net.gradients().data()) % 64 == 0);
        CHECK(net.parameters().size() == layout::storage_size);
    }

    TEST_CASE("padding stays zero and holds no parameters") {
        kiln::model<mlp> net(kiln::init::normal{0, 1}, 7);
        using first = mlp::layer_t<1>;
        const float* slice = net.parameters_of<1>();
        for (std::size_t i = first::weight_count; i < first::bias_offset; ++i)
            CHECK(slice[i] == 0);
        std::size_t nonzero = 0;
        for (float w : net.parameters())
            nonzero += w != 0;
        CHECK(nonzero == mlp::param_count);
    }

    TEST_CASE("initialization follows the scheme and the seed") {
        kiln::model<mlp> a(kiln::init::normal{0, 0.1}, 42);
        kiln::model<mlp> b(kiln::init::normal{0, 0.1}, 42);
        kiln::model<mlp> c(kiln::init::normal{0, 0.1}, 43);
        CHECK(std::equal(a.parameters().begin(), a.parameters().end(), b.parameters().begin()));
        CHECK(!std::equal(a.parameters().begin(), a.parameters().end(), c.parameters().begin()));

        // N(0, 0.1): sample mean near 0, sample deviation near 0.1 over ~100k draws.
        double sum = 0, squares = 0;
        for (float w : a.parameters())
            sum += w, squares += double(w) * w;
        const double n = mlp::param_count;
        CHECK(std::abs(sum / n) < 0.002);
        CHECK(std::sqrt(squares / n) == doctest::Approx(0.1).epsilon(0.01));

        // PyTorch's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) per layer.
        kiln::model<mlp> torch_like(kiln::init::pytorch_default{}, 42);
        const float* first = torch_like.parameters_of<1>();
        const float* last = torch_like.parameters_of<3>();
        float first_max = 0, last_max = 0;
        for (std::size_t i = 0; i < 784 * 128; ++i)
            first_max = std::max(first_max, std::abs(first[i]));
        for (std::size_t i = 0; i < 128 * 10; ++i)
            last_max = std::max(last_max, std::abs(last[i]));
        CHECK(first_max <= 1 / std::sqrt(784.0f));
        CHECK(first_max > 0.95f / std::sqrt(784.0f));
        CHECK(last_max <= 1 / std::sqrt(128.0f));
        CHECK(last_max > 0.9f / std::sqrt(128.0f));
    }

    TEST_CASE("Glorot uniform (Keras's default): U(+-sqrt(6 / (fan_in + fan_out))), zero bias") {
        // Every weight within the layer's limit, the sample deviation that of a uniform
        // (limit / sqrt(3)), every bias zero; a table is a Rows x Width matrix.
        auto check_weights = [](const float* w, std::size_t count, double fan_in, double fan_out) {
            const double limit = std::sqrt(6.0 / (fan_in + fan_out));
            double largest = 0, squares = 0;
            for (std::size_t i = 0; i < count; ++i) {
                largest = std::max(largest, std::abs(double(w[i])));
                squares += double(w[i]) * w[i];
            }
            CHECK(largest <= limit);
            CHECK(largest > 0.95 * limit);
            CHECK(std::sqrt(squares / double(count)) ==
                  doctest::Approx(limit / std::sqrt(3.0)).epsilon(0.05));
        };
        auto check_zero = [](const float* b, std::size_t count) {
            CHECK(std::all_of(b, b + count, [](float v) { return v == 0; }));
        };

        kiln::model<mlp> dense(kiln::init::glorot_uniform{}, 42);
        using first = mlp::layer_t<1>;
        using last = mlp::layer_t<3>;
        check_weights(dense.parameters_of<1>(), 784 * 128, 784, 128);
        check_zero(dense.parameters_of<1>() + first::bias_offset, 128);
        check_weights(dense.parameters_of<3>(), 128 * 10, 128, 10);
        check_zero(dense.parameters_of<3>() + last::bias_offset, 10);

        // A convolution's fans count its window: 7 x 7 x 1 in, 7 x 7 x 64 out (Keras's).
        using cnn = kiln::sequential<kiln::input<28, 28>, kiln::conv2d<64, 7>, kiln::relu,
                                     kiln::max_pool2d<2>, kiln::flatten, kiln::linear<10>>;
        kiln::model<cnn> conv(kiln::init::glorot_uniform{}, 42);
        using conv_layer = cnn::layer_t<1>;
        check_weights(conv.parameters_of<1>(), 49 * 64, 49, 49 * 64);
        check_zero(conv.parameters_of<1>() + conv_layer::bias_offset, 64);

        using sequence_cnn = kiln::sequential<kiln::input<40, 3>, kiln::conv1d<32, 5>,
                                              kiln::flatten, kiln::linear<2>>;
        kiln::model<sequence_cnn> conv1(kiln::init::glorot_uniform{}, 42);
        check_weights(conv1.parameters_of<1>(), 15 * 32, 15, 5 * 32);
        check_zero(conv1.parameters_of<1>() + sequence_cnn::layer_t<1>::bias_offset, 32);

        kiln::model<small_gpt> table(kiln::init::glorot_uniform{}, 42);
        check_weights(table.parameters_of<1>(), 11 * 16, 11, 16);
    }

    TEST_CASE("a float model converts to double exactly") {
        kiln::model<mlp, float> single(kiln::init::normal{0, 0.1}, 5);
        kiln::model<mlp, double> twice(single);
        for (std::size_t i = 0; i < single.parameters().size(); ++i)
            REQUIRE(twice.parameters()[i] == double(single.parameters()[i]));
    }

    TEST_CASE("a batch larger than the workspace is refused, not written past its end") {
        kiln::model<mlp> net;
        kiln::workspace<mlp, float> space(2);
        kiln::aligned_buffer<float> x(3 * 784);
        CHECK_THROWS_AS(
            kiln::forward(net, space, kiln::batch_view<kiln::shape<784>, float>(x.data(), 3)),
            std::length_error);
    }

    TEST_CASE(
        "rng: a seed gives one stream; below() stays in range; normal has the right moments") {
        kiln::rng a(1), b(1);
        for (int i = 0; i < 100; ++i)
            REQUIRE(a.next() == b.next());
        kiln::rng r(3);
        std::array<int, 7> counts{};
        for (int i = 0; i < 70'000; ++i) {
            const auto v = r.below(7);
            REQUIRE(v < 7);
            ++counts[v];
        }
        for (int c : counts)
            CHECK(std::abs(c - 10'000) < 500);
        double sum = 0, squares = 0;
        for (int i = 0; i < 100'000; ++i) {
            const double v = r.normal(1.0, 2.0);
            sum += v;
            squares += (v - 1.0) * (v - 1.0);
        }
        CHECK(sum / 100'000 == doctest::Approx(1.0).epsilon(0.03));
        CHECK(std::sqrt(squares / 100'000) == doctest::Approx(2.0).epsilon(0.02));
    }
}
