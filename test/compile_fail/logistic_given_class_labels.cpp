// The logistic loss given class labels (indices of ten classes), not -1 / +1 signs.
// expect: the logistic loss reads labels -1 and +1 ('Needs'), but is given 'Got'
// expect: kiln::label_view<10
// expect: kiln::sign_label_view
// fix: Write the labels as -1 and +1 and pass them as `kiln::sign_label_view(labels, batch)`.
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
