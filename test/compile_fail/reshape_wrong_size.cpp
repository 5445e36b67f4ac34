// Reshaping 784 values to 28x27x1 = 756: a view cannot drop values.
// expect: reshape can only view the values it receives (shape 'Got')
// expect: kiln::layer<1, kiln::reshape<28, 27, 1>>
// expect: kiln::shape<784>
// fix: Choose dimensions whose product is the input's size: `kiln::reshape<28, 28, 1>`.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::input<784>, kiln::reshape<28, 27, 1>, kiln::conv2d<64, 7>,
                                kiln::relu, kiln::flatten, kiln::linear<10>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
