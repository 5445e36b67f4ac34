// Evaluating a 10-class network on labels of 5 classes.
// expect: the labels name 'Got' classes but the network's last layer produces
// expect: kiln::classes<5>
// expect: kiln::logits<10>
// fix: Evaluate on labels with as many classes as the network has logits (`kiln::label_view<10>`),
// or make the last `kiln::linear` as wide as the number of classes.
#include <kiln/kiln.hpp>

using mlp = kiln::sequential<kiln::input<784>, kiln::linear<128>, kiln::relu, kiln::linear<10>>;

int main() {
    kiln::model<mlp> net;
    kiln::workspace<mlp> space(1);
    float image[784] = {};
    kiln::label_t label[1] = {0};
    const auto result =
        kiln::evaluate(net, space, kiln::batch_view<kiln::shape<784>, const float>(image, 1),
                       kiln::label_view<5>(label, 1));
    (void)result;
}
