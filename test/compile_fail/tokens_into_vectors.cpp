// Token ids fed straight into a layer that needs vectors.
// expect: receives token ids ('Got', made by kiln::tokens<Block, Vocab>)
// expect: kiln::layer<1, kiln::layer_norm>
// expect: kiln::token_ids<32, 65>
// fix: Look the ids up first: `kiln::embedding<65, 64>` right after `kiln::tokens<32, 65>`.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::tokens<32, 65>, kiln::layer_norm, kiln::linear<65>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
