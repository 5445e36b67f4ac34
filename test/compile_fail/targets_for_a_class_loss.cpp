// Real-valued targets given to softmax_cross_entropy, which reads class indices.
// expect: the loss reads class indices ('Needs'), but is given 'Got', real-valued targets
// expect: kiln::layer<1, kiln::linear<3>>
// expect: kiln::target_view<kiln::shape<3>
// expect: kiln::label_view<3, 1>
// fix: For a regression train with `kiln::mean_squared_error` or `kiln::mean_absolute_error`;
// for classes pass `kiln::label_view<Classes>(labels, batch)`.
#include <kiln/kiln.hpp>

using net = kiln::sequential<kiln::input<4>, kiln::linear<3>>;

int main() {
    kiln::model<net> model;
    kiln::trainer<net> train(model, kiln::sgd{}, 1);
    const float x[4] = {1, 2, 3, 4};
    const float y[3] = {0.5f, -1, 2};
    train.step(kiln::batch_view<kiln::shape<4>, const float>(x, 1),
               kiln::target_view<kiln::shape<3>>(y, 1));
}
