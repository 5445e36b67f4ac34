// Output padding 2 at stride 2: rows no input reaches (PyTorch refuses it too).
// expect: conv_transpose2d's output padding must be smaller than its stride
// expect: kiln::layer<3, kiln::conv_transpose2d<8, 3, 2, 1, 2
// fix: Use an output padding below the stride: `kiln::conv_transpose2d<8, 3, 2, 1, 1>`.
#include <kiln/kiln.hpp>

using broken =
    kiln::sequential<kiln::input<16, 16, 3>, kiln::conv2d<8, 3, 2, 1>, kiln::relu,
                     kiln::conv_transpose2d<8, 3, 2, 1, 2>, kiln::flatten, kiln::linear<10>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
