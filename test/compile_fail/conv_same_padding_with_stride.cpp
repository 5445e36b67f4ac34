// `same` padding with stride 2: the output cannot be as long as the input.
// expect: kiln::same pads so that the output is as long as the input
// expect: kiln::layer<1, kiln::conv2d<32, 3, 2,
// expect: {0, true}
// fix: Use stride 1 with `same`, or pad explicitly: `kiln::conv2d<32, 3, 2, 1>` (as PyTorch,
// which refuses padding='same' with a stride).
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::input<28, 28>, kiln::conv2d<32, 3, 2, kiln::same>, kiln::relu,
                                kiln::flatten, kiln::linear<10>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
