// A CNN without flatten: linear acts on each pixel's channels, so the logits are 11x11x10.
// expect: is the first kiln::linear to receive more than one axis
// expect: kiln::layer<4, kiln::linear<10>>
// expect: kiln::shape<11, 11, 10>
// fix: Put `kiln::flatten` between the last pooling layer and `kiln::linear<10>`:
// `kiln::max_pool2d<2>, kiln::flatten, kiln::linear<10>`.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::input<28, 28>, kiln::conv2d<64, 7>, kiln::relu,
                                kiln::max_pool2d<2>, kiln::linear<10>>;

int main() {
    kiln::model<broken> net;
    kiln::trainer<broken, kiln::softmax_cross_entropy> train(net, kiln::sgd{}, 5);
    (void)train;
}
