// A label smoothing of 1.5: the share of the target spread over all classes is at most 1.
// expect: the label smoothing in 'Loss' is outside [0, 1]
// expect: with_label_smoothing<
// fix: Write a number in [0, 1], as PyTorch's label_smoothing, e.g.
// `kiln::softmax_cross_entropy::with_label_smoothing<0.1>`.
#include <kiln/kiln.hpp>

using net = kiln::sequential<kiln::input<4>, kiln::linear<3>>;

int main() {
    kiln::model<net> model;
    kiln::trainer<net, kiln::softmax_cross_entropy::with_label_smoothing<1.5>> train(
        model, kiln::sgd{}, 1);
}
