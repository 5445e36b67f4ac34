// Targets of two values per example for a network of three outputs.
// expect: the targets have shape 'Got' per example, but the network's last layer produces
// expect: kiln::layer<1, kiln::linear<3>>
// expect: kiln::shape<2>
// expect: kiln::shape<3>
// fix: Make the targets a `kiln::target_view` of the output's shape, or end the network with a
// layer of the targets' shape.
#include <kiln/kiln.hpp>

using net = kiln::sequential<kiln::input<4>, kiln::linear<3>>;

int main() {
    kiln::model<net> model;
    kiln::trainer<net, kiln::mean_absolute_error> train(model, kiln::sgd{}, 1);
    const float x[4] = {1, 2, 3, 4};
    const float y[2] = {0.5f, -1};
    train.step(kiln::batch_view<kiln::shape<4>, const float>(x, 1),
               kiln::target_view<kiln::shape<2>>(y, 1));
}
