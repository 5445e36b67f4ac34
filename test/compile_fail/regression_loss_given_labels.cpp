// mean_squared_error given class labels, where it compares the output with real targets.
// expect: a regression loss compares the output with real targets ('Needs'), but is given
// expect: kiln::layer<1, kiln::linear<3>>
// expect: kiln::label_view<3
// expect: kiln::target_view<kiln::shape<3>
// fix: Pass the targets as `kiln::target_view<Shape, T>(targets, batch)`, Shape the network's
// output shape; for classes use `kiln::softmax_cross_entropy`.
#include <kiln/kiln.hpp>

using net = kiln::sequential<kiln::input<4>, kiln::linear<3>>;

int main() {
    kiln::model<net> model;
    kiln::trainer<net, kiln::mean_squared_error> train(model, kiln::sgd{}, 1);
    const float x[4] = {1, 2, 3, 4};
    const kiln::label_t y[1] = {2};
    train.step(kiln::batch_view<kiln::shape<4>, const float>(x, 1), kiln::label_view<3>(y, 1));
}
