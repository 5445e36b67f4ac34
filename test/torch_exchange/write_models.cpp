// Writes, into the folder it is given, kiln model files of a small CNN, a conv1d
// network, a network of every activation (PReLU's slopes among them), a gru and an
// lstm, batch_norm and dropout, depthwise and transposed convolutions, and a small
// GPT (double, randomly initialized) with the inputs and kiln's outputs for them,
// for test/torch_exchange/check.py: PyTorch mirrors of the networks, loaded through
// scripts/torch_weights.py, must compute the same outputs.
#include <kiln/kiln.hpp>
#include <kiln/train/checkpoint.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <vector>

namespace {

using cnn = kiln::sequential<kiln::input<9, 9, 2>, kiln::conv2d<4, 3>, kiln::relu,
                             kiln::max_pool2d<2>, kiln::conv2d<3, 2>, kiln::tanh, kiln::flatten,
                             kiln::linear<6>, kiln::gelu, kiln::linear<5>>;
constexpr std::size_t vocab = 11, block = 6, width = 8;
using gpt = kiln::sequential<
    kiln::tokens<block, vocab>, kiln::embedding<vocab, width>, kiln::add_position<block>,
    kiln::repeat<
        2, kiln::residual<kiln::layer_norm, kiln::causal_self_attention<2>>,
        kiln::residual<kiln::layer_norm, kiln::linear<16>, kiln::relu, kiln::linear<width>>>,
    kiln::layer_norm, kiln::linear<vocab>>;
using seq = kiln::sequential<kiln::input<7, 3>, kiln::conv1d<4, 3>, kiln::relu,
                             kiln::conv1d_no_bias<2, 2>, kiln::flatten, kiln::linear<3>>;
// PReLU's learned slopes (one per channel, one shared, one per feature) among the
// other activations.
using activations =
    kiln::sequential<kiln::input<6, 6, 2>, kiln::conv2d<3, 3>, kiln::prelu<3>, kiln::flatten,
                     kiln::linear<7>, kiln::prelu<>, kiln::linear<5>, kiln::elu<0.5>,
                     kiln::linear<5>, kiln::leaky_relu<0.2>, kiln::linear<4>, kiln::silu,
                     kiln::linear<4>, kiln::gelu_tanh, kiln::linear<4>, kiln::sigmoid,
                     kiln::linear<3>, kiln::prelu<3>, kiln::softmax>;
// Recurrent layers: a gru's every step into an lstm, its last step into a linear layer.
using recurrent = kiln::sequential<kiln::input<5, 3>, kiln::gru<4>, kiln::lstm<6>, kiln::last_step,
                                   kiln::linear<2>>;
// batch_norm on an image and on vectors, with dropout between (evaluation: the
// identity); written after two training passes, so the running statistics are not
// PyTorch's initial ones.
using norm = kiln::sequential<kiln::input<6, 6, 2>, kiln::conv2d<3, 3>, kiln::batch_norm<>,
                              kiln::relu, kiln::flatten, kiln::linear<7>, kiln::dropout<0.3>,
                              kiln::batch_norm<0.2, 1e-3>, kiln::linear<4>>;
// Depthwise convolutions, two filters per channel, then one, padded and strided, and
// a transposed convolution and nearest upsampling that grow the image back.
using depthwise =
    kiln::sequential<kiln::input<8, 7, 3>, kiln::depthwise_conv2d<2, 3, 1, kiln::same>, kiln::relu,
                     kiln::depthwise_conv2d<1, 2, 2, 1>, kiln::conv_transpose2d<3, 3, 2, 1, 1>,
                     kiln::upsample2d<2>, kiln::flatten, kiln::linear<4>>;
constexpr std::size_t batch = 3;

void write_values(const std::filesystem::path& path, std::span<const double> values) {
    std::ofstream out(path);
    for (double v : values) {
        char text[40];
        std::snprintf(text, sizeof text, "%a\n", v);
        out << text;
    }
}

template <class Net>
void write(const std::filesystem::path& folder, const std::string& name,
           const std::vector<double>& x) {
    kiln::model<Net, double> net(kiln::init::normal{0.0, 0.3}, 7);
    kiln::workspace<Net, double> space(batch);
    const kiln::batch_view<typename Net::input_shape, const double> input(x.data(), batch);
    for (std::uint64_t step = 0; step < 2; ++step)
        kiln::forward(net, space, input, kiln::pass_mode{true, 1, step, 0});
    kiln::save_model(folder / (name + ".kiln"), net);
    const auto out = kiln::forward(
        net, space, kiln::batch_view<typename Net::input_shape, const double>(x.data(), batch));
    write_values(folder / (name + ".x"), x);
    write_values(folder / (name + ".y"), {out.data(), out.size()});
}

std::vector<double> wave(std::size_t count) {
    std::vector<double> x(count);
    for (std::size_t i = 0; i < count; ++i)
        x[i] = std::sin(0.37 * static_cast<double>(i) + 0.2);
    return x;
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: write_models FOLDER\n");
        return 2;
    }
    const std::filesystem::path folder = argv[1];
    write<cnn>(folder, "cnn", wave(batch * 9 * 9 * 2));
    write<seq>(folder, "conv1d", wave(batch * 7 * 3));
    write<activations>(folder, "activations", wave(batch * 6 * 6 * 2));
    write<recurrent>(folder, "recurrent", wave(batch * 5 * 3));
    write<norm>(folder, "norm", wave(batch * 6 * 6 * 2));
    write<depthwise>(folder, "depthwise", wave(batch * 8 * 7 * 3));
    std::vector<double> ids(batch * block);
    for (std::size_t i = 0; i < ids.size(); ++i)
        ids[i] = static_cast<double>((5 * i + 3) % vocab);
    write<gpt>(folder, "gpt", ids);
    return 0;
}
