// conv1d with `same` padding and stride 2: the output cannot be as long as the input.
// expect: kiln::same pads so that the output is as long as the input
// expect: kiln::layer<1, kiln::conv1d<4, 3, 2,
// expect: {0, true}
// fix: Use stride 1 with `same`, or pad explicitly: `kiln::conv1d<4, 3, 2, 1>`.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::input<16, 2>, kiln::conv1d<4, 3, 2, kiln::same>,
                                kiln::flatten, kiln::linear<3>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
