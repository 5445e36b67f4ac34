// Token ids fed straight into a layer that needs vectors.
// expect: gives token ids, but the layer after it
// expect: kiln::layer<1, kiln::layer_norm>
// expect: kiln::tokens<32, 65>
// fix: Look the ids up first: `kiln::embedding<65, 64>` right after `kiln::tokens<32, 65>`.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::tokens<32, 65>, kiln::layer_norm, kiln::linear<65>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
