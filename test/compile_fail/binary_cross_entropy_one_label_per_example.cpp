// binary_cross_entropy_with_logits given one class label per example, not a 0 or 1 per output.
// expect: binary_cross_entropy_with_logits reads one label, 0 or 1, per output ('Needs')
// expect: kiln::layer<1, kiln::linear<3>>
// expect: kiln::label_view<3, 1>
// expect: kiln::label_view<2, 3>
// fix: Write a 0 or 1 for every output of every example and pass them as
// `kiln::label_view<2, N>(labels, batch)`, N the outputs per example.
#include <kiln/kiln.hpp>

using net = kiln::sequential<kiln::input<4>, kiln::linear<3>>;

int main() {
    kiln::model<net> model;
    kiln::trainer<net, kiln::binary_cross_entropy_with_logits> train(model, kiln::sgd{}, 1);
    const float x[4] = {1, 2, 3, 4};
    const kiln::label_t y[1] = {2};
    train.step(kiln::batch_view<kiln::shape<4>, const float>(x, 1), kiln::label_view<3>(y, 1));
}
