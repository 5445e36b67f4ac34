// A trainer declared with its optimizer where the loss goes.
// expect: stands where the loss goes, but it is not a loss
// expect: kiln::adamw
// fix: Name the loss, then the optimizer: `kiln::trainer<mlp, kiln::softmax_cross_entropy,
// kiln::adamw>`.
#include <kiln/kiln.hpp>

using mlp = kiln::sequential<kiln::input<784>, kiln::linear<128>, kiln::relu, kiln::linear<10>>;

int main() {
    kiln::model<mlp> net;
    kiln::trainer<mlp, kiln::adamw> train(net, kiln::adamw{}, 64);
    (void)train;
}
