// Boost.Hana's algorithms on a network's layers (kiln/hana.hpp).
#include <kiln/hana.hpp>
#include <kiln/kiln.hpp>

#include <boost/hana.hpp>
#include <doctest/doctest.h>

#include <string>

namespace {
namespace hana = boost::hana;

using cnn = kiln::sequential<kiln::input<12, 12>, kiln::conv2d<4, 3>, kiln::relu,
                             kiln::max_pool2d<2>, kiln::flatten, kiln::linear<10>>;
constexpr auto layers = cnn::layers{};

// Iterable and Foldable on the type_list itself, at compile time.
static_assert(hana::length(layers) == hana::size_c<5>);
static_assert(hana::at_c<4>(layers) == hana::type_c<cnn::layer_t<5>>);
static_assert(hana::fold_left(layers, std::size_t{0}, [](std::size_t total, auto layer) {
                  return total + decltype(layer)::type::param_count;
              }) == cnn::param_count);
static_assert(hana::any_of(layers, [](auto layer) {
    return hana::bool_c<decltype(layer)::type::is_view>;
}));
static_assert(hana::count_if(layers, [](auto layer) {
                  return hana::bool_c<(decltype(layer)::type::param_count != 0)>;
              }) == hana::size_c<2>);
static_assert(hana::is_empty(kiln::type_list<>{}));
static_assert(hana::find_if(layers, [](auto layer) {
                  return hana::bool_c<decltype(layer)::type::out_shape::rank == 1>;
              }) == hana::just(hana::type_c<cnn::layer_t<4>>));

// Sequences built from a network's layers.
constexpr auto with_parameters = hana::filter(kiln::hana_layers<cnn>, [](auto layer) {
    return hana::bool_c<(decltype(layer)::type::param_count != 0)>;
});
static_assert(with_parameters ==
              hana::make_tuple(hana::type_c<cnn::layer_t<1>>, hana::type_c<cnn::layer_t<5>>));
constexpr auto widths = hana::transform(
    kiln::hana_layers<cnn>, [](auto layer) { return decltype(layer)::type::out_shape::size; });
static_assert(hana::back(widths) == 10);
} // namespace

TEST_SUITE("graph") {
    TEST_CASE("hana::for_each visits a network's layers in order") {
        std::string names;
        hana::for_each(layers,
                       [&](auto layer) { names += decltype(layer)::type::spec::name() + ";"; });
        CHECK(names == "conv2d<4, 3>;relu;max_pool2d<2>;flatten;linear<10>;");
    }
}
