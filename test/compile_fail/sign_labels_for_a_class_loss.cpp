// The logistic loss's -1 / +1 labels given to softmax_cross_entropy, which would read a -1
// before its logits.
// expect: the loss reads class indices ('Needs'), but is given 'Got', the logistic loss's
// expect: kiln::layer<1, kiln::linear<2>>
// expect: kiln::sign_label_view
// expect: kiln::label_view<2, 1>
// fix: Pass classes 0, 1, ... as `kiln::label_view<2>`, or train a one-score network with
// `kiln::logistic`.
#include <kiln/kiln.hpp>

using pair = kiln::sequential<kiln::input<4>, kiln::linear<2>>;

int main() {
    kiln::model<pair> net;
    kiln::trainer<pair> train(net, kiln::sgd{}, 1);
    const float x[4] = {1, 2, 3, 4};
    const kiln::label_t y[1] = {-1};
    train.step(kiln::batch_view<kiln::shape<4>, const float>(x, 1), kiln::sign_label_view(y, 1));
}
