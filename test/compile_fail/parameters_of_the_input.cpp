// parameters_of<0> asked of a model: position 0 is the input, which has no parameters.
// expect: the network has no layer at position 'Asked'
// expect: kiln::asked_position<0>
// expect: kiln::layers_in_network<3>
// fix: The first layer's parameters are `net.parameters_of<1>()`; layers count from 1, after the
// input.
#include <kiln/kiln.hpp>

using mlp = kiln::sequential<kiln::input<784>, kiln::linear<128>, kiln::relu, kiln::linear<10>>;

int main() {
    kiln::model<mlp> net;
    float* const first_weights = net.parameters_of<0>();
    (void)first_weights;
}
