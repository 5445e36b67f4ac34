// A 3-tap filter dilated by 4 spans 9 values, more than the 6 of the sequence.
// expect: the conv1d filter ('Kernel' taps, spread by its dilation) is longer
// expect: kiln::layer<1, kiln::conv1d<2, 3, 1,
// expect: {0, false}, 4>
// expect: kiln::shape<6, 2>
// expect: kiln::kernel_length<9>
// fix: Pad the sequence (`kiln::conv1d<2, 3, 1, kiln::same, 4>`), or use a smaller dilation.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::input<6, 2>, kiln::conv1d<2, 3, 1, 0, 4>, kiln::flatten,
                                kiln::linear<3>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
