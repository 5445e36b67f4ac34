// A trainer (and its optimizer) declared for the MLP, given a model of CNN2.
// expect: the trainer (and its optimizer) was declared for 'Needs' but is given 'Got'
// expect: kiln::model<kiln::sequential<kiln::input<28, 28>, kiln::conv2d<64, 7
// expect: kiln::model<kiln::sequential<kiln::input<784>, kiln::linear<128>
// fix: Declare the trainer for the network of the model it trains, `kiln::trainer<cnn2>`, or
// train a `kiln::model<mlp>`.
#include <kiln/kiln.hpp>

using mlp = kiln::sequential<kiln::input<784>, kiln::linear<128>, kiln::relu, kiln::linear<10>>;
using cnn2 = kiln::sequential<kiln::input<28, 28>, kiln::conv2d<64, 7>, kiln::relu,
                              kiln::max_pool2d<2>, kiln::flatten, kiln::linear<10>>;

int main() {
    kiln::model<cnn2> net;
    kiln::trainer<mlp> train(net, kiln::sgd{}, 5);
    (void)train;
}
