// The character GPT's networks of block 32 with 2 and 8 heads, for examples/gpt.cpp's
// --sweep, --block and --heads: compiled apart from the others, in parallel with
// them (gpt_training.hpp says why).
#include "gpt_training.hpp"

namespace kiln::examples {

void run_other_heads(const gpt_options& opt, const kiln::data::char_text& text,
                     const processes& procs, configurations_run& runs) {
    run_configurations(opt, text, procs, runs,
                       kiln::type_list<gpt_config<32, 2>, gpt_config<32, 8>>{});
}

} // namespace kiln::examples
