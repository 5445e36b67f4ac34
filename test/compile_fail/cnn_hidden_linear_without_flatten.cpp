// A CNN that forgets flatten before its hidden linear<64>, which then maps each pixel.
// expect: is the first kiln::linear to receive more than one axis
// expect: Fix: put kiln::flatten right before 'Layer'
// expect: kiln::layer<4, kiln::linear<64>>
// expect: kiln::shape<13, 13, 10>
// fix: Put `kiln::flatten` before layer 4: `kiln::max_pool2d<2>, kiln::flatten, kiln::linear<64>`
// (before the last `kiln::linear` instead, the hidden layer would still work pixel by pixel).
#include <kiln/kiln.hpp>

using broken =
    kiln::sequential<kiln::input<28, 28>, kiln::conv2d<8, 3>, kiln::relu, kiln::max_pool2d<2>,
                     kiln::linear<64>, kiln::relu, kiln::linear<10>>;

int main() {
    kiln::model<broken> net;
    kiln::trainer<broken, kiln::softmax_cross_entropy> train(net, kiln::sgd{}, 5);
    (void)train;
}
