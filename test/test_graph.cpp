// The graph core as a user meets it: a layer written against the contract of
// layers/layer.hpp and nothing else, composites run by the same runner as a
// network, for_each_layer's paths and offsets, and the named per-layer views.
#include <kiln/kiln.hpp>

#include "support/gradient_probe.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace {

// A user's layer: y = x * scale + shift, a learned scale and shift per feature of
// the last axis. Plain, with parameters; written only against the contract.
struct affine_per_feature {
    static std::string name() { return "affine_per_feature"; }

    template <class In, std::size_t Position, class Previous = kiln::no_layer,
              class Next = kiln::no_layer>
    struct bind
        : kiln::parametric_layer<affine_per_feature, In, In, Position, 2 * kiln::last_dim<In>> {
        static constexpr std::size_t width = kiln::last_dim<In>;
        static constexpr std::size_t flops_per_example = 2 * In::size;

        template <class T, class Scheme>
        static void initialize(T* params, kiln::rng& random, const Scheme&) {
            for (std::size_t i = 0; i < 2 * width; ++i)
                params[i] = static_cast<T>(random.normal(i < width ? 1.0 : 0.0, 0.3));
        }
        template <class T>
        static void forward(const T* params, const T* x, T* y, std::size_t batch,
                            kiln::work_share share = {}) noexcept {
            const auto rows = share.rows(batch * In::size / width);
            for (std::size_t r = rows.begin; r < rows.end; ++r)
                for (std::size_t c = 0; c < width; ++c)
                    y[r * width + c] = x[r * width + c] * params[c] + params[width + c];
        }
        template <class T>
        static void backward_input(const T* params, const T*, const T*, const T* dy, T* dx,
                                   std::size_t batch, kiln::work_share share = {}) noexcept {
            const auto rows = share.rows(batch * In::size / width);
            for (std::size_t r = rows.begin; r < rows.end; ++r)
                for (std::size_t c = 0; c < width; ++c)
                    dx[r * width + c] = dy[r * width + c] * params[c];
        }
        template <class T, class Sink>
        static void backward_params(const T*, T* scratch, const T* x, const T*, const T* dy,
                                    std::size_t batch, Sink& sink,
                                    kiln::work_share share = {}) noexcept {
            if (share.index != 0) return; // one part sums every row
            std::fill_n(scratch, 2 * width, T{0});
            for (std::size_t r = 0; r < batch * In::size / width; ++r)
                for (std::size_t c = 0; c < width; ++c) {
                    scratch[c] += dy[r * width + c] * x[r * width + c];
                    scratch[width + c] += dy[r * width + c];
                }
            kiln::hand_over(sink, 0, scratch, 2 * width);
        }
    };
};
static_assert(kiln::layer_spec<affine_per_feature>);
static_assert(kiln::bound_layer<affine_per_feature::bind<kiln::shape<4>, 1>>);

using gpt_like =
    kiln::sequential<kiln::tokens<6, 11>, kiln::embedding<11, 16>, kiln::add_position<6>,
                     kiln::repeat<2, kiln::residual<kiln::layer_norm, kiln::linear<16>>>,
                     kiln::repeat<2, kiln::linear<8>, kiln::relu>, kiln::linear<11>>;

} // namespace

TEST_SUITE("graph") {
    TEST_CASE("a layer written against the contract trains and back-propagates") {
        kiln::testing::probe<kiln::sequential<kiln::input<3, 5>, affine_per_feature,
                                              kiln::linear<4>, kiln::relu, affine_per_feature>>{}
            .check();
        kiln::testing::probe<kiln::sequential<
            kiln::input<2, 5>, kiln::residual<affine_per_feature, kiln::linear<5>>>>{}
            .check();
    }

    TEST_CASE("a block runs its layers as the same layers in line would") {
        using inline_net = kiln::sequential<kiln::input<9>, kiln::linear<7>, kiln::relu,
                                            kiln::linear<6>, kiln::tanh, kiln::linear<3>>;
        using block_net =
            kiln::sequential<kiln::input<9>, kiln::block<kiln::linear<7>, kiln::relu>,
                             kiln::block<kiln::linear<6>, kiln::tanh, kiln::linear<3>>>;
        static_assert(inline_net::param_count == block_net::param_count);
        kiln::model<inline_net, double> a(kiln::init::normal{0, 0.4}, 3);
        kiln::model<block_net, double> b(kiln::init::normal{0, 0.4}, 3);
        // The same parameters in the same order: block slices follow each other.
        REQUIRE(a.parameters().size() >= b.parameters().size());
        std::vector<double> x(4 * 9);
        kiln::rng random(8);
        for (double& v : x)
            v = random.normal();
        kiln::workspace<inline_net, double> space_a(4);
        kiln::workspace<block_net, double> space_b(4);
        const auto ya =
            kiln::forward(a, space_a, kiln::batch_view<kiln::shape<9>, const double>(x.data(), 4));
        const auto yb =
            kiln::forward(b, space_b, kiln::batch_view<kiln::shape<9>, const double>(x.data(), 4));
        for (std::size_t i = 0; i < ya.size(); ++i)
            CHECK(ya.data()[i] == doctest::Approx(yb.data()[i]).epsilon(1e-12));
        kiln::testing::probe<block_net>{}.check();
    }

    TEST_CASE("for_each_layer visits every layer, composites before their layers, with paths") {
        std::vector<std::string> seen;
        std::vector<std::size_t> offsets;
        kiln::for_each_layer<gpt_like>([&](auto visit) {
            using bound = typename decltype(visit)::layer;
            seen.push_back(visit.path.to_string() + " " + bound::spec::name());
            offsets.push_back(decltype(visit)::param_offset);
        });
        const std::vector<std::string> expected{"1 embedding<11, 16>",
                                                "2 add_position<6>",
                                                "3 repeat<2, residual<layer_norm, linear<16>>>",
                                                "3 > copy 1 > 1 residual<layer_norm, linear<16>>",
                                                "3 > copy 1 > 1 > 1 layer_norm",
                                                "3 > copy 1 > 1 > 2 linear<16>",
                                                "3 > copy 2 > 1 residual<layer_norm, linear<16>>",
                                                "3 > copy 2 > 1 > 1 layer_norm",
                                                "3 > copy 2 > 1 > 2 linear<16>",
                                                "4 repeat<2, linear<8>, relu>",
                                                "4 > copy 1 > 1 linear<8>",
                                                "4 > copy 1 > 2 relu",
                                                "4 > copy 2 > 1 linear<8>",
                                                "4 > copy 2 > 2 relu",
                                                "5 linear<11>"};
        CHECK(seen == expected);
        // Offsets: each top-level layer's as the model has them; inner ones inside
        // their composite's slice, in order.
        CHECK(offsets[0] == kiln::model<gpt_like>::offset_of<1>);
        CHECK(offsets[2] == kiln::model<gpt_like>::offset_of<3>);
        CHECK(offsets[3] == offsets[2]);
        CHECK(offsets[5] > offsets[4]);
        CHECK(offsets[6] > offsets[5]);
        CHECK(offsets[9] == kiln::model<gpt_like>::offset_of<4>);
        CHECK(offsets[14] == kiln::model<gpt_like>::offset_of<5>);
    }

    TEST_CASE("a model's layers by name: weights, bias and their gradients") {
        using net_type =
            kiln::sequential<kiln::input<4>, kiln::linear<3>, kiln::relu, kiln::linear_no_bias<2>>;
        kiln::model<net_type> net(kiln::init::normal{0, 1}, 1);
        auto first = net.layer<1>();
        CHECK(first.weights().size() == 12);
        CHECK(first.bias().size() == 3);
        CHECK(first.weights().data() == net.parameters_of<1>());
        CHECK(first.bias().data() == net.parameters_of<1>() + net_type::layer_t<1>::bias_at(0));
        CHECK(first.bias_gradients().data() ==
              net.gradients_of<1>() + net_type::layer_t<1>::bias_at(0));
        CHECK(net.layer<3>().weights().size() == 6);
        CHECK_THROWS_AS(net.layer<3>().part("bias"), std::out_of_range);
        first.weights()[net_type::layer_t<1>::weight_at(2, 1)] = 5.0f;
        CHECK(net.parameters_of<1>()[2 * 3 + 1] == 5.0f);
    }

    TEST_CASE("the parameter table names every tensor as an nn.Sequential mirror would") {
        const std::string table = kiln::parameter_table<gpt_like>();
        using model = kiln::model<gpt_like>;
        auto line = [](const std::string& key, std::size_t offset, const char* shape,
                       const char* stored_as, const std::string& layer) {
            return key + "\t" + std::to_string(offset) + "\t" + shape + "\t" + stored_as +
                   "\tlayer " + layer + "\n";
        };
        CHECK(table.find(line("0.weight", 0, "11x16", "0,1", "1 (embedding<11, 16>)")) == 0);
        CHECK(table.find(line("1.weight", model::offset_of<2>, "6x16", "0,1",
                              "2 (add_position<6>)")) != std::string::npos);
        // Inside a repeat: position, copy, position, from 0 as PyTorch counts.
        CHECK(table.find("2.1.0.0.bias\t") != std::string::npos);
        CHECK(table.find("\t16x16\t1,0\tlayer 3 > copy 2 > 1 > 2 (linear<16>)\n") !=
              std::string::npos);
        CHECK(table.find(line("4.weight", model::offset_of<5>, "11x8", "1,0", "5 (linear<11>)")) !=
              std::string::npos);
        std::size_t lines = 0;
        for (char c : table)
            lines += c == '\n' ? 1 : 0;
        CHECK(lines == 2 + 2 * 2 * 2 + 2 * 2 + 2); // tables, residuals, repeat<2, linear>, head
        // conv2d: PyTorch's [filter][channel][row][column], stored [row][column][channel][filter].
        using cnn = kiln::sequential<kiln::input<6, 6, 2>, kiln::conv2d<3, 3>, kiln::flatten,
                                     kiln::linear<4>>;
        CHECK(kiln::parameter_table<cnn>().find("0.weight\t0\t3x2x3x3\t2,3,1,0\t") == 0);
    }

    TEST_CASE("summary lists the layers inside composites by their paths") {
        const std::string text = gpt_like::summary();
        CHECK(text.find("3 > copy 2 > 1 > 2") != std::string::npos);
        CHECK(text.find("total parameters: " + std::to_string(gpt_like::param_count)) !=
              std::string::npos);
        // The signature a checkpoint stores names only the network's own layers.
        CHECK(kiln::network_signature<gpt_like>().find("copy") == std::string::npos);
    }
}
