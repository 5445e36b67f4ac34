// A 4-tap filter sliding over a sequence of 3 values.
// expect: the conv1d filter ('Kernel' taps, spread by its dilation) is longer
// expect: kiln::layer<1, kiln::conv1d_no_bias<1, 4
// expect: kiln::shape<3>
// expect: kiln::kernel_length<4>
// fix: Use a filter no longer than the sequence (`kiln::conv1d_no_bias<1, 2>` on three values).
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::input<3>, kiln::conv1d_no_bias<1, 4>, kiln::relu,
                                kiln::flatten, kiln::linear_no_bias<1>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
