// An evaluator declared for one MLP, given a model of a narrower one.
// expect: the evaluator was declared for 'Needs' but is given 'Got', a model of another network
// expect: kiln::model<kiln::sequential<kiln::input<784>, kiln::linear<64>
// expect: kiln::model<kiln::sequential<kiln::input<784>, kiln::linear<128>
// fix: Declare the evaluator for the model's network, `kiln::evaluator<narrow>`.
#include <kiln/kiln.hpp>

using mlp = kiln::sequential<kiln::input<784>, kiln::linear<128>, kiln::relu, kiln::linear<10>>;
using narrow = kiln::sequential<kiln::input<784>, kiln::linear<64>, kiln::relu, kiln::linear<10>>;

int main() {
    kiln::model<narrow> net;
    kiln::evaluator<mlp> scores(64);
    float images[784] = {};
    kiln::label_t labels[1] = {0};
    const auto result =
        scores.evaluate(net, kiln::batch_view<kiln::shape<784>, const float>(images, 1),
                        kiln::label_view<10>(labels, 1));
    (void)result;
}
