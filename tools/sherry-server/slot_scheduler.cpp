#include "tools/sherry-server/slot_scheduler.h"

#include <algorithm>
#include <random>

#include <fmt/format.h>

#include "core/error.h"
#include "runtime/chat_template.h"

namespace sherry::server {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// How many of `cached` tokens `prompt` starts with, at most `limit`.
int64_t common_start(const std::vector<int32_t>& cached_tokens, int64_t cached,
                     const std::vector<int32_t>& prompt, int64_t limit) {
  int64_t n = 0;
  const int64_t end = std::min({cached, static_cast<int64_t>(prompt.size()), limit});
  while (n < end && cached_tokens[static_cast<size_t>(n)] == prompt[static_cast<size_t>(n)]) ++n;
  return n;
}

}  // namespace

SlotScheduler::SlotScheduler(runtime::LlamaModel& model, int64_t max_queue, Metrics& metrics)
    : model_(model), tokenizer_(*model.tokenizer()), metrics_(metrics), max_queue_(max_queue) {
  SHERRY_CHECK(model.tokenizer() != nullptr && model.batch() >= model.sequences());
  slots_.resize(static_cast<size_t>(model.sequences()));
  for (size_t i = 0; i < slots_.size(); ++i) slots_[i].id = static_cast<int32_t>(i);
  batch_.reserve(static_cast<size_t>(model.batch()));
  batch_slot_.reserve(static_cast<size_t>(model.batch()));
  thread_ = std::thread([this] { run(); });
}

SlotScheduler::~SlotScheduler() {
  stop();
}

void SlotScheduler::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool SlotScheduler::submit(std::shared_ptr<CompletionTask> task) {
  {
    std::lock_guard lock(mutex_);
    const auto free_slots = static_cast<int64_t>(slots_.size()) - busy_;
    if (stopping_ || static_cast<int64_t>(queue_.size()) >= max_queue_ + free_slots) return false;
    queue_.push_back(std::move(task));
  }
  wake_.notify_all();
  return true;
}

SchedulerGauges SlotScheduler::gauges() const {
  std::lock_guard lock(mutex_);
  return {static_cast<int64_t>(slots_.size()), busy_, static_cast<int64_t>(queue_.size())};
}

void SlotScheduler::run() {
  while (true) {
    std::vector<std::shared_ptr<CompletionTask>> admitted;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty() || busy_ > 0; });
      if (stopping_) break;
      while (!queue_.empty() && busy_ < static_cast<int64_t>(slots_.size())) {
        std::shared_ptr<CompletionTask> task = std::move(queue_.front());
        queue_.pop_front();
        if (task->cancelled()) {
          task->finish(FinishReason::kCancelled, 0, 0, 0, 0);
          continue;
        }
        ++busy_;
        admitted.push_back(std::move(task));
      }
    }
    for (auto& task : admitted) {
      // The free slot whose cache shares the longest start with the prompt.
      Slot* best = nullptr;
      int64_t best_common = -1;
      for (Slot& slot : slots_) {
        if (slot.task) continue;
        const auto& prompt = task->params().prompt;
        const int64_t common =
            common_start(slot.tokens, slot.cached, prompt, static_cast<int64_t>(prompt.size()));
        if (common > best_common) {
          best = &slot;
          best_common = common;
        }
      }
      SHERRY_CHECK(best != nullptr);
      admit(*best, std::move(task));
    }
    step();
  }
  // Stopping: every task ends, running or waiting.
  for (Slot& slot : slots_) {
    if (slot.task) finish(slot, FinishReason::kCancelled);
  }
  std::lock_guard lock(mutex_);
  for (auto& task : queue_) task->finish(FinishReason::kCancelled, 0, 0, 0, 0);
  queue_.clear();
}

void SlotScheduler::admit(Slot& slot, std::shared_ptr<CompletionTask> task) {
  const GenerationParams& p = task->params();
  // Reuse the cached start of the prompt, but run its last token again for the logits.
  const int64_t common =
      common_start(slot.tokens, slot.cached, p.prompt, static_cast<int64_t>(p.prompt.size()) - 1);
  slot.tokens = p.prompt;
  slot.cached = common;
  slot.reused = common;
  slot.prompt_end = static_cast<int64_t>(p.prompt.size());
  slot.generated = 0;
  slot.sampler.emplace(p.sampling, model_.config().vocab);
  // The text continues the prompt: a SentencePiece piece keeps its leading space.
  slot.detokenizer.emplace(tokenizer_, /*at_start=*/false);
  slot.held.clear();
  slot.start = Clock::now();
  slot.prompt_seconds = 0;
  slot.task = std::move(task);
  metrics_.prompt_tokens(slot.prompt_end);
  metrics_.cached_tokens(common);
}

bool SlotScheduler::step() {
  for (Slot& slot : slots_) {
    if (slot.task && slot.task->cancelled()) finish(slot, FinishReason::kCancelled);
  }
  batch_.clear();
  batch_slot_.clear();
  const auto capacity = static_cast<size_t>(model_.batch());
  // The next token of every generating slot first, then prompts in slot order.
  for (const Slot& slot : slots_) {
    if (!slot.task || slot.cached < slot.prompt_end) continue;
    batch_.push_back({slot.tokens[static_cast<size_t>(slot.cached)], slot.id, slot.cached, true});
    batch_slot_.push_back(slot.id);
  }
  for (const Slot& slot : slots_) {
    if (!slot.task || slot.cached >= slot.prompt_end) continue;
    for (int64_t p = slot.cached; p < slot.prompt_end && batch_.size() < capacity; ++p) {
      batch_.push_back({slot.tokens[static_cast<size_t>(p)], slot.id, p, p == slot.prompt_end - 1});
      batch_slot_.push_back(slot.id);
    }
  }
  if (batch_.empty()) return false;

  const auto start = Clock::now();
  auto logits = model_.forward(batch_);
  if (!logits) {
    // Tokens and positions were checked when the requests came in: this is a bug.
    fmt::print(stderr, "sherry-server: internal error in a decode step: {}\n",
               logits.error().message());
    for (Slot& slot : slots_) {
      if (slot.task) finish(slot, FinishReason::kCancelled);
    }
    return true;
  }
  for (const int32_t id : batch_slot_) slots_[static_cast<size_t>(id)].cached += 1;
  const auto vocab = static_cast<size_t>(model_.config().vocab);
  size_t row = 0;
  for (size_t i = 0; i < batch_.size(); ++i) {
    if (!batch_[i].logits) continue;
    after_logits(slots_[static_cast<size_t>(batch_slot_[i])],
                 logits->subspan(row++ * vocab, vocab));
  }
  metrics_.decode_step(seconds_since(start), static_cast<int64_t>(batch_.size()));
  return true;
}

void SlotScheduler::after_logits(Slot& slot, std::span<const float> logits) {
  if (slot.generated == 0) slot.prompt_seconds = seconds_since(slot.start);
  const int32_t next = slot.sampler->sample(logits, slot.tokens);
  slot.generated += 1;
  metrics_.generated_tokens(1);
  if (!slot.task->params().ignore_eos && tokenizer_.is_end_of_generation(next)) {
    emit(slot, slot.detokenizer->finish());
    slot.task->push_text(slot.held);
    finish(slot, FinishReason::kStop);
    return;
  }
  if (emit(slot, slot.detokenizer->push(next))) {
    finish(slot, FinishReason::kStop);
    return;
  }
  const bool room = static_cast<int64_t>(slot.tokens.size()) < model_.context();
  if (slot.generated >= slot.task->params().max_tokens || !room) {
    if (emit(slot, slot.detokenizer->finish())) {
      finish(slot, FinishReason::kStop);
      return;
    }
    slot.task->push_text(slot.held);
    finish(slot, FinishReason::kLength);
    return;
  }
  slot.tokens.push_back(next);  // run in the next step
}

bool SlotScheduler::emit(Slot& slot, std::string_view text) {
  slot.held += text;
  const runtime::StopMatch m = runtime::find_stop(slot.held, slot.task->params().stop);
  if (m.position != std::string::npos) {
    slot.task->push_text(std::string_view(slot.held).substr(0, m.position));
    slot.held.clear();
    return true;
  }
  const size_t safe = slot.held.size() - m.partial;
  slot.task->push_text(std::string_view(slot.held).substr(0, safe));
  slot.held.erase(0, safe);
  return false;
}

void SlotScheduler::finish(Slot& slot, FinishReason reason) {
  const double total = seconds_since(slot.start);
  std::shared_ptr<CompletionTask> task = std::move(slot.task);
  slot.sampler.reset();
  slot.detokenizer.reset();
  slot.held.clear();
  slot.tokens.resize(static_cast<size_t>(slot.cached));  // what the cache holds, for reuse
  {
    std::lock_guard lock(mutex_);
    --busy_;  // before the reader hears of the end: it may ask for the gauges at once
  }
  task->finish(reason, slot.generated, slot.reused, slot.prompt_seconds,
               slot.generated > 0 ? total - slot.prompt_seconds : 0.0);
}

}  // namespace sherry::server
