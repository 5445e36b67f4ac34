// A residual branch that ends 256 wide cannot be added to its 64-wide input.
// expect: the branch of kiln::residual<...> turns its input
// expect: kiln::layer<3, kiln::residual<kiln::layer_norm, kiln::linear<256>>>
// expect: kiln::shape<8, 256>
// expect: kiln::shape<8, 64>
// fix: End the branch with the input's width: `kiln::linear<256>, kiln::relu, kiln::linear<64>`.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::tokens<8, 65>, kiln::embedding<65, 64>, kiln::add_position<8>,
                                kiln::residual<kiln::layer_norm, kiln::linear<256>>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
