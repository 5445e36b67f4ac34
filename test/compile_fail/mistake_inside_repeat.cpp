// A mistake inside a composite is named by its path: the attention of the
// residual of the repeat at position 3 has five heads for a width of 64.
// expect: does not divide 'Width'
// expect: kiln::layer<3, kiln::repeat<4, kiln::residual<kiln::layer_norm,
// kiln::causal_self_attention<5>>>, kiln::copy<1>, kiln::layer<1, kiln::residual<kiln::layer_norm,
// kiln::causal_self_attention<5>>, kiln::layer<2, kiln::causal_self_attention<5>>>> expect:
// kiln::heads<5> fix: Choose heads that divide the width: `kiln::causal_self_attention<4>`.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<
    kiln::tokens<8, 65>, kiln::embedding<65, 64>, kiln::add_position<8>,
    kiln::repeat<4, kiln::residual<kiln::layer_norm, kiln::causal_self_attention<5>>>,
    kiln::layer_norm, kiln::linear<65>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
