// The logistic loss given labels of ten classes.
// expect: the logistic loss takes labels of two classes, written -1 and +1
// expect: kiln::classes<10>
// fix: Pass the labels, each -1 or +1, as `kiln::label_view<2>`.
#include <kiln/kiln.hpp>

using mini_cnn = kiln::sequential<kiln::input<3>, kiln::conv1d_no_bias<1, 2>, kiln::relu,
                                  kiln::flatten, kiln::linear_no_bias<1>>;

int main() {
    kiln::model<mini_cnn> net;
    kiln::trainer<mini_cnn, kiln::logistic> train(net, kiln::sgd{}, 1);
    const float x[3] = {1, 2, 3};
    const kiln::label_t y[1] = {1};
    train.step(kiln::batch_view<kiln::shape<3>, const float>(x, 1), kiln::label_view<10>(y, 1));
}
