// An image fed to linear without flatten: the logits are 28x10 per example.
// expect: needs one vector per example, but the network's output has shape 'Got'
// expect: kiln::softmax_cross_entropy
// expect: kiln::layer<1, kiln::linear<10>>
// expect: kiln::shape<28, 10>
// fix: Put `kiln::flatten` before the `kiln::linear`, so that the loss sees one vector of
// logits per example: `kiln::sequential<kiln::input<28, 28>, kiln::flatten, kiln::linear<10>>`.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::input<28, 28>, kiln::linear<10>>;

int main() {
    kiln::model<broken> net;
    kiln::trainer<broken, kiln::softmax_cross_entropy> train(net, kiln::sgd{}, 5);
    (void)train;
}
