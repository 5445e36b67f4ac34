// A batch_norm whose momentum is above 1.
// expect: batch_norm's momentum (its first number, in the type of 'Layer')
// expect: kiln::layer<2, kiln::batch_norm<
// fix: Write a momentum in [0, 1] and an eps above 0 (`kiln::batch_norm<>`: PyTorch's 0.1 and
// 1e-5).
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::input<8>, kiln::linear<16>, kiln::batch_norm<1.5>, kiln::relu,
                                kiln::linear<10>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
