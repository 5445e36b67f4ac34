// The logistic loss on a network with ten outputs per example.
// expect: the logistic loss needs one score per example
// expect: kiln::layer<3, kiln::linear<10>>
// expect: kiln::shape<10>
// fix: End the network with one output, `kiln::linear<1>` (or `kiln::linear_no_bias<1>`), whose
// sign the label in {-1, +1} says; for ten classes use `kiln::softmax_cross_entropy`.
#include <kiln/kiln.hpp>

using net = kiln::sequential<kiln::input<784>, kiln::linear<64>, kiln::relu, kiln::linear<10>>;

int main() {
    kiln::model<net> model;
    kiln::trainer<net, kiln::logistic> train(model, kiln::sgd{}, 1);
    (void)train;
}
