// A network that ends with a convolution whose 1 x 1 x 10 output stands for ten logits.
// expect: needs one vector per example, but the network's last layer 'LastLayer' produces
// expect: kiln::layer<1, kiln::conv2d<10, 28
// expect: kiln::shape<1, 1, 10>
// fix: End with `kiln::flatten` (and, as the course's CNNs, a `kiln::linear<10>`):
// `kiln::conv2d<10, 28>, kiln::flatten`.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::input<28, 28>, kiln::conv2d<10, 28>>;

int main() {
    kiln::model<broken> net;
    kiln::trainer<broken> train(net, kiln::sgd{}, 5);
    (void)train;
}
