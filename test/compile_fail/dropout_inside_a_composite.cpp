// A dropout inside a residual, whose inner passes do not carry the training mode.
// expect: behaves differently in training and evaluation
// expect: kiln::layer<2, kiln::residual<
// fix: Put dropout and batch_norm at the top level of the network, before or after the
// composite.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::input<16>, kiln::linear<16>,
                                kiln::residual<kiln::linear<16>, kiln::relu, kiln::dropout<0.1>>,
                                kiln::linear<10>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
