// A workspace made for CNN2 passed to forward with a model of the MLP.
// expect: the workspace 'Got' was made for another network or scalar type than the model
// expect: kiln::workspace<kiln::sequential<kiln::input<28, 28>, kiln::conv2d<64, 7
// expect: kiln::workspace<kiln::sequential<kiln::input<784>, kiln::linear<128>
// fix: Make the workspace for the model's network and scalar type: `kiln::workspace<mlp, float>`.
#include <kiln/kiln.hpp>

using mlp = kiln::sequential<kiln::input<784>, kiln::linear<128>, kiln::relu, kiln::linear<10>>;
using cnn2 = kiln::sequential<kiln::input<28, 28>, kiln::conv2d<64, 7>, kiln::relu,
                              kiln::max_pool2d<2>, kiln::flatten, kiln::linear<10>>;

int main() {
    kiln::model<mlp> net;
    kiln::workspace<cnn2, float> space(1);
    float image[784] = {};
    kiln::forward(net, space, kiln::batch_view<kiln::shape<784>, const float>(image, 1));
}
