// Three heads cannot share a width of 64.
// expect: does not divide 'Width'
// expect: kiln::layer<3, kiln::causal_self_attention<3>>
// expect: kiln::heads<3>
// expect: kiln::width<64>
// fix: Choose heads that divide the width: `kiln::causal_self_attention<4>`.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::tokens<8, 65>, kiln::embedding<65, 64>, kiln::add_position<8>,
                                kiln::causal_self_attention<3>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
