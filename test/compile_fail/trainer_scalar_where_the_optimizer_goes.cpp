// A trainer declared with its scalar type where the optimizer goes.
// expect: stands where the trainer's optimizer goes, but it is not an optimizer
// expect: not_an_optimizer<double>
// fix: The scalar type comes fourth: `kiln::trainer<mlp, kiln::softmax_cross_entropy, kiln::sgd,
// double>`, for a `kiln::model<mlp, double>`.
#include <kiln/kiln.hpp>

using mlp = kiln::sequential<kiln::input<784>, kiln::linear<128>, kiln::relu, kiln::linear<10>>;

int main() {
    kiln::model<mlp, double> net;
    kiln::trainer<mlp, kiln::softmax_cross_entropy, double> train(net, kiln::sgd{}, 64);
    (void)train;
}
