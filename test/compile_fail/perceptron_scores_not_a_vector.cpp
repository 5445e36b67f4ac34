// The multiclass perceptron on a network whose scores are 28 x 10 per example.
// expect: needs one vector per example, but the network's output has shape 'Got'
// expect: kiln::multiclass_perceptron
// expect: kiln::layer<1, kiln::linear_no_bias<10>>
// expect: kiln::shape<28, 10>
// fix: Put `kiln::flatten` before the `kiln::linear_no_bias`, so that each example gets one vector
// of scores: `kiln::sequential<kiln::input<28, 28>, kiln::flatten, kiln::linear_no_bias<10>>`.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::input<28, 28>, kiln::linear_no_bias<10>>;

int main() {
    kiln::model<broken> net;
    kiln::trainer<broken, kiln::multiclass_perceptron> train(net, kiln::sgd{1.0}, 1);
    (void)train;
}
