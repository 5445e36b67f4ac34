// A trainer made without the largest mini-batch it will step.
// expect: a trainer is made for the largest mini-batch it will step
// expect: kiln::sgd
// fix: Pass the largest mini-batch after the optimizer: `kiln::trainer<mlp> train(net,
// kiln::sgd{0.1}, 64)`.
#include <kiln/kiln.hpp>

using mlp = kiln::sequential<kiln::input<784>, kiln::linear<128>, kiln::relu, kiln::linear<10>>;

int main() {
    kiln::model<mlp> net;
    kiln::trainer<mlp> train(net, kiln::sgd{0.1});
    (void)train;
}
