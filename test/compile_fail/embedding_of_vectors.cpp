// A lookup of token ids given the output of a linear layer: numbers, not ids.
// expect: looks up token ids, but it receives shape 'Got': numbers
// expect: kiln::layer<2, kiln::embedding<10, 16>>
// expect: kiln::shape<10>
// fix: Only the ids of `kiln::tokens<Block, 10>` may be looked up, right after the input:
// `kiln::sequential<kiln::tokens<8, 10>, kiln::embedding<10, 16>, ...>`; vectors go through
// `kiln::linear<16>` instead.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::input<10>, kiln::linear<10>, kiln::embedding<10, 16>,
                                kiln::flatten, kiln::linear<2>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
