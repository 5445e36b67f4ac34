// A trainer declared for AdamW, given SGD's settings.
// expect: the trainer was declared for the optimizer 'Needs' but is given the settings of 'Got'
// expect: kiln::sgd
// expect: kiln::adamw
// fix: Declare the trainer for the optimizer it gets, `kiln::trainer<mlp,
// kiln::softmax_cross_entropy, kiln::sgd>`, or give it `kiln::adamw{...}`.
#include <kiln/kiln.hpp>

using mlp = kiln::sequential<kiln::input<784>, kiln::linear<128>, kiln::relu, kiln::linear<10>>;

int main() {
    kiln::model<mlp> net;
    kiln::trainer<mlp, kiln::softmax_cross_entropy, kiln::adamw> train(net, kiln::sgd{0.1}, 64);
    (void)train;
}
