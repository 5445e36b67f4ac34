#pragma once
// kiln::shuffled_batches: the course's epoch over a labeled set. Each epoch
// shuffles the order of the examples, then walks it in whole mini-batches (the
// remainder is dropped, as in the course), gathering each into staging memory
// made once, so that training allocates nothing after construction. The set's
// labels are checked once, here (labeled_set::labels()), and each example's
// again as gather() copies it into a mini-batch.
#include "kiln/core/aligned_buffer.hpp"
#include "kiln/core/rng.hpp"
#include "kiln/core/tensor.hpp"

#include <cstddef>
#include <numeric>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace kiln {

template <class Set>
class shuffled_batches {
public:
    using shape_type = typename Set::shape_type;
    using value_type = typename Set::value_type;

    shuffled_batches(const Set& set, std::size_t batch)
        : set_(&set), batch_(checked_batch(set, batch)), order_(set.size()),
          images_(batch * shape_type::size, "kiln::shuffled_batches"), labels_(batch) {
        (void)set.labels(); // refuses a label outside the classes, naming the example
        std::iota(order_.begin(), order_.end(), std::size_t{0});
    }

    std::size_t batch() const noexcept { return batch_; }
    std::size_t steps_per_epoch() const noexcept { return order_.size() / batch_; }

    // The current order: what a checkpoint saves and restores to resume an epoch
    // exactly (it must stay a permutation of the set's indices).
    std::span<std::size_t> order() noexcept { return order_; }
    const std::vector<std::size_t>& order() const noexcept { return order_; }

    // One epoch: shuffles with `random`, then calls
    // on_batch(step, inputs, labels) for each mini-batch in turn.
    template <class OnBatch>
    void epoch(rng& random, OnBatch&& on_batch) {
        random.shuffle(std::span<std::size_t>(order_));
        const std::span<const std::size_t> order(order_);
        for (std::size_t step = 0; step < steps_per_epoch(); ++step) {
            set_->gather(order.subspan(step * batch_, batch_),
                         batch_view<shape_type, value_type>(images_.data(), batch_),
                         labels_.data());
            on_batch(step, batch_view<shape_type, const value_type>(images_.data(), batch_),
                     label_view<Set::classes>(labels_.data(), batch_, labels_checked));
        }
    }

private:
    // A batch of 1 to set.size() examples, refused before anything is allocated.
    static std::size_t checked_batch(const Set& set, std::size_t batch) {
        if (batch == 0 || batch > set.size())
            throw std::invalid_argument("kiln::shuffled_batches: a mini-batch of " +
                                        std::to_string(batch) + " examples from a set of " +
                                        std::to_string(set.size()));
        return batch;
    }

    const Set* set_;
    std::size_t batch_;
    std::vector<std::size_t> order_;
    aligned_buffer<value_type> images_;
    std::vector<label_t> labels_;
};

} // namespace kiln
