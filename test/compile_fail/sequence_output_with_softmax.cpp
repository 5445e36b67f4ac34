// A GPT, logits at each of its 32 positions, trained with the one-vector softmax_cross_entropy.
// expect: scores one vector of logits per example, but this network's output 'Got'
// expect: Fix: use kiln::sequence_cross_entropy
// expect: kiln::layer<5, kiln::linear<65>>
// expect: kiln::shape<32, 65>
// fix: `kiln::trainer<gpt, kiln::sequence_cross_entropy, kiln::adamw>`, with a label (the next
// token) per position.
#include <kiln/kiln.hpp>

using gpt = kiln::sequential<
    kiln::tokens<32, 65>, kiln::embedding<65, 64>, kiln::add_position<32>,
    kiln::repeat<2, kiln::residual<kiln::layer_norm, kiln::causal_self_attention<4>>>,
    kiln::layer_norm, kiln::linear<65>>;

int main() {
    kiln::model<gpt> net;
    kiln::trainer<gpt, kiln::softmax_cross_entropy, kiln::adamw> train(net, kiln::adamw{}, 5);
    (void)train;
}
