// A sequence loss given one label per example, where it reads one per position.
// expect: the labels hold 'Got' labels per example, but the loss reads 'Needs'
// expect: kiln::layer<4, kiln::linear<65>>
// expect: kiln::per_example<1>
// expect: kiln::per_example<32>
// fix: Make the labels a `kiln::label_view<65, 32>` (a label per position) over the same memory.
#include <kiln/kiln.hpp>

using gpt = kiln::sequential<kiln::tokens<32, 65>, kiln::embedding<65, 64>, kiln::add_position<32>,
                             kiln::layer_norm, kiln::linear<65>>;

int main() {
    kiln::model<gpt> net;
    kiln::trainer<gpt, kiln::sequence_cross_entropy> train(net, kiln::sgd{}, 1);
    float ids[32] = {};
    kiln::label_t next[32] = {};
    train.step(kiln::batch_view<kiln::shape<32>, const float>(ids, 1),
               kiln::label_view<65>(next, 1));
}
