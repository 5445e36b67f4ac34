// Token ids of a 65-character vocabulary looked up in a table of 50 rows.
// expect: looks up ids of another vocabulary ('Needs') than the token ids it receives
// expect: kiln::layer<1, kiln::embedding<50, 64>>
// expect: kiln::token_ids<32, 65>
// expect: kiln::token_ids<32, 50>
// fix: Give the table a row per id: `kiln::embedding<65, 64>` after `kiln::tokens<32, 65>`.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::tokens<32, 65>, kiln::embedding<50, 64>, kiln::layer_norm,
                                kiln::linear<65>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
