// 32 tokens per example, but a position table for 16.
// expect: more positions than the table has
// expect: kiln::layer<2, kiln::add_position<16>>
// expect: kiln::shape<32, 64>
// expect: kiln::shape<16, 64>
// fix: Give add_position the tokens' block: `kiln::add_position<32>`.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::tokens<32, 65>, kiln::embedding<65, 64>,
                                kiln::add_position<16>, kiln::layer_norm>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
