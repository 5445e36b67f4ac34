// Evaluating a GPT with softmax_cross_entropy: evaluate keeps the trainer's rules for the loss.
// expect: scores one vector of logits per example, but this network's output 'Got'
// expect: kiln::layer<4, kiln::linear<65>>
// expect: kiln::shape<32, 65>
// fix: Evaluate with the loss it trains with: `kiln::evaluate<kiln::sequence_cross_entropy>(...)`.
#include <kiln/kiln.hpp>

using gpt = kiln::sequential<kiln::tokens<32, 65>, kiln::embedding<65, 64>, kiln::add_position<32>,
                             kiln::layer_norm, kiln::linear<65>>;

int main() {
    kiln::model<gpt> net;
    kiln::workspace<gpt> space(1);
    float ids[32] = {};
    kiln::label_t next[32] = {};
    const auto result =
        kiln::evaluate(net, space, kiln::batch_view<kiln::shape<32>, const float>(ids, 1),
                       kiln::label_view<65>(next, 1));
    (void)result;
}
