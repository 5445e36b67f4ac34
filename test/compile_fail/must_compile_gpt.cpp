// The control for the transformer layers: the course's GPT (SEED.md part F), its
// parameter count stated by the compiler, and one AdamW training step.
#include <kiln/kiln.hpp>

using gpt = kiln::sequential<
    kiln::tokens<32, 65>, kiln::embedding<65, 64>, kiln::add_position<32>,
    kiln::repeat<4, kiln::residual<kiln::layer_norm, kiln::causal_self_attention<4>>,
                 kiln::residual<kiln::layer_norm, kiln::linear<256>, kiln::relu, kiln::linear<64>>>,
    kiln::layer_norm, kiln::linear<65>>;
static_assert(gpt::param_count == 209'729);

int main() {
    kiln::model<gpt> net(kiln::init::pytorch_default{}, 1);
    kiln::trainer<gpt, kiln::sequence_cross_entropy, kiln::adamw> train(net, kiln::adamw{}, 1);
    float ids[32] = {};
    kiln::label_t next[32] = {};
    train.step(kiln::batch_view<kiln::shape<32>, const float>(ids, 1),
               kiln::label_view<65, 32>(next, 1));
}
