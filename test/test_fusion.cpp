// Open fusion (graph/lowering.hpp): any elementwise activation fuses into the
// epilogues of linear and conv2d by declaring itself, with no edit to them. The
// fused networks are checked against kiln::unfused_sequential (each layer doing
// its own work), and the activations' backward against central differences.
#include <kiln/kiln.hpp>

#include "support/gradient_probe.hpp"
#include "support/training_run.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

namespace {

// An activation this file declares and the library has never seen: x / (1 + |x|),
// whose derivative (1 - |y|)^2 reads its output.
struct softsign : kiln::elementwise_activation<softsign> {
    static std::string name() { return "softsign"; }
    static constexpr bool derivative_reads_output = true;
    template <class V>
    static V apply(const V& x) noexcept {
        return x / (V(1) + xsimd::abs(x));
    }
    template <class V>
    static V backward(const V& y, const V& dy) noexcept {
        const V rest = V(1) - xsimd::abs(y);
        return dy * rest * rest;
    }
};

// One that reads its input: x tanh(x), whose derivative tanh(x) + x (1 - tanh(x)^2)
// cannot be told from its output (it is even).
struct xtanh : kiln::elementwise_activation<xtanh> {
    static std::string name() { return "xtanh"; }
    static constexpr bool derivative_reads_output = false;
    template <class V>
    static V apply(const V& x) noexcept {
        return x * kiln::simd::tanh(x);
    }
    template <class V>
    static V backward(const V& x, const V& dy) noexcept {
        const V t = kiln::simd::tanh(x);
        return dy * (t + x * (V(1) - t * t));
    }
};

template <template <class, class...> class Sequential, class Act>
using mlp = Sequential<kiln::input<3, 7>, kiln::flatten, kiln::linear<37>, Act, kiln::linear<19>,
                       Act, kiln::linear<5>>;

template <template <class, class...> class Sequential, class Act>
using cnn = Sequential<kiln::input<9, 8, 2>, kiln::conv2d<17, 3>, Act, kiln::max_pool2d<2>, Act,
                       kiln::conv2d<6, 2>, Act, kiln::flatten, kiln::linear<5>>;

// The roles lowering gives each layer, from the activations' declarations alone.
using tanh_mlp = mlp<kiln::sequential, kiln::tanh>;
static_assert(std::is_same_v<tanh_mlp::layer_t<2>::applied, kiln::tanh>);
static_assert(tanh_mlp::layer_t<3>::is_view && tanh_mlp::layer_t<3>::passes_gradient);
static_assert(std::is_same_v<tanh_mlp::layer_t<4>::absorbed, kiln::tanh>);
using gelu_mlp = mlp<kiln::sequential, kiln::gelu>;
static_assert(std::is_same_v<gelu_mlp::layer_t<2>::applied, kiln::no_activation>);
static_assert(!gelu_mlp::layer_t<3>::is_view && gelu_mlp::layer_t<3>::passes_gradient);
static_assert(std::is_same_v<gelu_mlp::layer_t<4>::absorbed, kiln::gelu>);
using softsign_cnn = cnn<kiln::sequential, softsign>;
static_assert(std::is_same_v<softsign_cnn::layer_t<1>::applied, softsign>);
static_assert(std::is_same_v<softsign_cnn::layer_t<3>::absorbed, softsign>);
using xtanh_cnn = cnn<kiln::sequential, xtanh>;
static_assert(!xtanh_cnn::layer_t<2>::passes_gradient); // a pool cannot read xtanh's input
static_assert(std::is_same_v<xtanh_cnn::layer_t<5>::absorbed, xtanh>);
using sigmoid_mlp = mlp<kiln::sequential, kiln::sigmoid>;
static_assert(std::is_same_v<sigmoid_mlp::layer_t<2>::applied, kiln::sigmoid>);
static_assert(std::is_same_v<sigmoid_mlp::layer_t<4>::absorbed, kiln::sigmoid>);
using elu_cnn = cnn<kiln::sequential, kiln::elu<>>;
static_assert(std::is_same_v<elu_cnn::layer_t<1>::applied, kiln::elu<>>);
static_assert(elu_cnn::layer_t<2>::is_view && elu_cnn::layer_t<2>::passes_gradient);
// A leaky relu's output says on which side its input was only for a slope >= 0.
static_assert(std::is_same_v<mlp<kiln::sequential, kiln::leaky_relu<0.1>>::layer_t<2>::applied,
                             kiln::leaky_relu<0.1>>);
using negative_leaky_mlp = mlp<kiln::sequential, kiln::leaky_relu<-0.3>>;
static_assert(std::is_same_v<negative_leaky_mlp::layer_t<2>::applied, kiln::no_activation>);
static_assert(std::is_same_v<negative_leaky_mlp::layer_t<4>::absorbed, kiln::leaky_relu<-0.3>>);
using silu_mlp = mlp<kiln::sequential, kiln::silu>;
static_assert(std::is_same_v<silu_mlp::layer_t<2>::applied, kiln::no_activation>);
static_assert(std::is_same_v<silu_mlp::layer_t<4>::absorbed, kiln::silu>);
using unfused_tanh = mlp<kiln::unfused_sequential, kiln::tanh>;
static_assert(!unfused_tanh::layer_t<3>::is_view && !unfused_tanh::layer_t<3>::passes_gradient);

// Fused and unfused code round differently only where the compiler contracts a
// multiply and an add in one place and not the other: a few units in the last place.
template <class T>
void check_close(const std::vector<T>& fused, const std::vector<T>& unfused) {
    const double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-12;
    REQUIRE(fused.size() == unfused.size());
    for (std::size_t i = 0; i < fused.size(); ++i) {
        INFO("entry ", i, ": fused ", fused[i], ", unfused ", unfused[i]);
        const double scale =
            std::max({1.0, std::abs(double(fused[i])), std::abs(double(unfused[i]))});
        REQUIRE(std::abs(double(fused[i]) - double(unfused[i])) <= tolerance * scale);
    }
}

template <template <template <class, class...> class, class> class Net, class Act, class T>
void check_fused_against_unfused() {
    for (std::size_t batch : {1, 5, 33}) {
        INFO(Act::name(), ", batch ", batch);
        const auto fused = kiln::testing::run_training<Net<kiln::sequential, Act>, T>(batch);
        const auto unfused =
            kiln::testing::run_training<Net<kiln::unfused_sequential, Act>, T>(batch);
        check_close(fused.logits, unfused.logits);
        check_close(fused.gradients, unfused.gradients);
        check_close(fused.input_gradient, unfused.input_gradient);
        check_close(fused.parameters_after_steps, unfused.parameters_after_steps);
    }
}

} // namespace

TEST_SUITE("fusion") {
    TEST_CASE_TEMPLATE("fused activations give the unfused results", T, float, double) {
        check_fused_against_unfused<mlp, kiln::relu, T>();
        check_fused_against_unfused<mlp, kiln::tanh, T>();
        check_fused_against_unfused<mlp, kiln::gelu, T>();
        check_fused_against_unfused<mlp, softsign, T>();
        check_fused_against_unfused<mlp, xtanh, T>();
        check_fused_against_unfused<mlp, kiln::sigmoid, T>();
        check_fused_against_unfused<mlp, kiln::silu, T>();
        check_fused_against_unfused<mlp, kiln::gelu_tanh, T>();
        check_fused_against_unfused<mlp, kiln::leaky_relu<>, T>();
        check_fused_against_unfused<mlp, kiln::leaky_relu<-0.3>, T>();
        check_fused_against_unfused<mlp, kiln::elu<>, T>();
        check_fused_against_unfused<cnn, kiln::relu, T>();
        check_fused_against_unfused<cnn, kiln::tanh, T>();
        check_fused_against_unfused<cnn, kiln::gelu, T>();
        check_fused_against_unfused<cnn, softsign, T>();
        check_fused_against_unfused<cnn, xtanh, T>();
        check_fused_against_unfused<cnn, kiln::sigmoid, T>();
        check_fused_against_unfused<cnn, kiln::silu, T>();
        check_fused_against_unfused<cnn, kiln::gelu_tanh, T>();
        check_fused_against_unfused<cnn, kiln::leaky_relu<>, T>();
        check_fused_against_unfused<cnn, kiln::leaky_relu<-0.3>, T>();
        check_fused_against_unfused<cnn, kiln::elu<0.5>, T>();
    }

    TEST_CASE("activations' backward, fused and unfused, against central differences") {
        using kiln::testing::probe;
        probe<mlp<kiln::sequential, kiln::tanh>>{}.check();
        probe<mlp<kiln::unfused_sequential, kiln::tanh>>{}.check();
        probe<mlp<kiln::sequential, kiln::gelu>>{}.check();
        probe<mlp<kiln::unfused_sequential, kiln::gelu>>{}.check();
        probe<mlp<kiln::sequential, softsign>>{}.check();
        probe<mlp<kiln::sequential, xtanh>>{}.check();
        probe<cnn<kiln::sequential, kiln::tanh>>{}.check();
        probe<cnn<kiln::sequential, kiln::gelu>>{}.check();
        probe<cnn<kiln::sequential, xtanh>>{}.check();
    }

    TEST_CASE_TEMPLATE("more activations' backward, fused and unfused, against central "
                       "differences",
                       Act, kiln::sigmoid, kiln::silu, kiln::gelu_tanh, kiln::leaky_relu<>,
                       kiln::leaky_relu<-0.3>, kiln::elu<>, kiln::elu<0.5>) {
        using kiln::testing::probe;
        probe<mlp<kiln::sequential, Act>>{}.check();
        probe<mlp<kiln::unfused_sequential, Act>>{}.check();
        probe<cnn<kiln::sequential, Act>>{}.check();
        probe<cnn<kiln::unfused_sequential, Act>>{}.check();
    }

    TEST_CASE("tanh and gelu compute what PyTorch's nn.Tanh and nn.GELU() do") {
        // torch.tanh(x) and torch.nn.functional.gelu(x) of these x, in float64 (torch 1.13).
        // Ten values: a whole register of doubles and a partial one.
        const std::vector<double> x{-3.0, -1.0, -0.25, 0.0, 0.5, 2.0, -5.5, 1.25, 3.0, 0.75};
        const std::vector<double> tanh_expected{
            -0.9950547536867305, -0.7615941559557649, -0.24491866240370913, 0.0,
            0.46211715726000974, 0.9640275800758169,  -0.9999665971563038,  0.8482836399575129,
            0.9950547536867305,  0.6351489523872873};
        const std::vector<double> gelu_expected{
            -0.00404969409489031, -0.15865525393145702, -0.10032341857926907,    0.0,
            0.34573123063700656,  1.9544997361036416,   -1.0444259362918373e-07, 1.117937782916431,
            2.99595030590511,     0.5800294857173489};
        std::vector<double> y(x.size());
        using tanh_layer = kiln::tanh::bind<kiln::shape<10>, 1>;
        using gelu_layer = kiln::gelu::bind<kiln::shape<10>, 1>;
        tanh_layer::forward<double>(nullptr, x.data(), y.data(), 1);
        for (std::size_t i = 0; i < x.size(); ++i)
            CHECK(y[i] == doctest::Approx(tanh_expected[i]).epsilon(1e-12));
        gelu_layer::forward<double>(nullptr, x.data(), y.data(), 1);
        for (std::size_t i = 0; i < x.size(); ++i)
            CHECK(y[i] == doctest::Approx(gelu_expected[i]).epsilon(1e-12));
    }
}
