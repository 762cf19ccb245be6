// Pattern::search: the Pike VM. Threads are program counters; each step advances every live
// thread over one code point of the subject, so the work is O(subject length x program size)
// and the only stack in use is an explicit one.
#include <algorithm>

#include "common/schema/validator_regex.hpp"
#include "common/schema/validator_unicode.hpp"

namespace aisle::schema {
namespace {

// Per-thread scratch space: reused across calls so that matching does not allocate once warm.
struct Scratch {
  std::vector<std::uint32_t> current;
  std::vector<std::uint32_t> next;
  std::vector<std::uint32_t> stack;
  std::vector<std::uint32_t> mark;  // mark[pc] == generation: pc is already on the list
  std::uint32_t generation = 0;

  void new_generation() {
    if (++generation == 0) {
      std::fill(mark.begin(), mark.end(), 0);
      generation = 1;
    }
  }
};

thread_local Scratch t_scratch;

bool is_word(char32_t c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

// What the zero-width assertions need to know about the position between two code points.
struct Position {
  bool at_start;
  bool at_end;
  bool previous_is_word;
  bool next_is_word;
};

bool word_at(std::string_view subject, std::size_t pos) {
  if (pos >= subject.size()) return false;
  return is_word(unicode::decode_utf8(subject, pos));
}

// Adds the thread `start` and everything reachable from it without consuming input to `list`.
// Returns true when a Match is reachable (the search has succeeded).
bool add_thread(const std::vector<Pattern::Inst>& program, Scratch& scratch,
                std::vector<std::uint32_t>& list, std::uint32_t start, const Position& where) {
  using Op = Pattern::Op;
  auto& stack = scratch.stack;
  stack.clear();
  stack.push_back(start);
  while (!stack.empty()) {
    const std::uint32_t pc = stack.back();
    stack.pop_back();
    if (scratch.mark[pc] == scratch.generation) continue;
    scratch.mark[pc] = scratch.generation;
    const Pattern::Inst& inst = program[pc];
    switch (inst.op) {
      case Op::kChar:
      case Op::kSet: list.push_back(pc); break;
      case Op::kMatch: return true;
      case Op::kJmp: stack.push_back(inst.a); break;
      case Op::kSplit:
        stack.push_back(inst.b);
        stack.push_back(inst.a);
        break;
      case Op::kBegin:
        if (where.at_start) stack.push_back(pc + 1);
        break;
      case Op::kEnd:
        if (where.at_end) stack.push_back(pc + 1);
        break;
      case Op::kWordBoundary:
        if (where.previous_is_word != where.next_is_word) stack.push_back(pc + 1);
        break;
      case Op::kNotWordBoundary:
        if (where.previous_is_word == where.next_is_word) stack.push_back(pc + 1);
        break;
    }
  }
  return false;
}

}  // namespace

bool Pattern::search_sequence(std::string_view subject) const {
  std::size_t pos = 0;
  for (const Step& step : steps_) {
    std::uint32_t count = 0;
    while (count < step.max && pos < subject.size()) {
      const auto byte = static_cast<unsigned char>(subject[pos]);
      std::size_t next = pos + 1;
      bool matches;
      if (byte < 128) {
        matches = (step.ascii[byte >> 6] >> (byte & 63)) & 1;
      } else {
        next = pos;
        const char32_t c = unicode::decode_utf8(subject, next);
        matches = step.has_set ? sets_[step.set].contains(c) : c == step.ch;
      }
      if (!matches) break;
      pos = next;
      ++count;
    }
    if (count < step.min) return false;
  }
  return !sequence_end_ || pos == subject.size();
}

bool Pattern::search(std::string_view subject) const {
  switch (mode_) {
    case Mode::kSequence: return search_sequence(subject);
    case Mode::kContains: return subject.find(literal_) != std::string_view::npos;
    case Mode::kStartsWith: return subject.substr(0, literal_.size()) == literal_;
    case Mode::kEquals: return subject == literal_;
    case Mode::kVm: break;
  }
  Scratch& scratch = t_scratch;
  if (scratch.mark.size() < program_.size()) scratch.mark.resize(program_.size(), 0);
  scratch.new_generation();
  scratch.current.clear();
  std::size_t pos = 0;
  bool previous_is_word = false;
  while (true) {
    if (!anchored_ || pos == 0) {
      const Position here{pos == 0, pos == subject.size(), previous_is_word,
                          word_checks_ && word_at(subject, pos)};
      if (add_thread(program_, scratch, scratch.current, 0, here)) return true;
    }
    if (pos == subject.size() || scratch.current.empty()) {
      if (pos == subject.size() || anchored_) return false;
    }
    std::size_t next_pos = pos;
    const char32_t c = unicode::decode_utf8(subject, next_pos);
    scratch.new_generation();
    scratch.next.clear();
    const Position there{false, next_pos == subject.size(), is_word(c),
                         word_checks_ && word_at(subject, next_pos)};
    for (const std::uint32_t pc : scratch.current) {
      const Inst& inst = program_[pc];
      const bool consumed = inst.op == Op::kChar ? inst.a == c : sets_[inst.a].contains(c);
      if (consumed && add_thread(program_, scratch, scratch.next, pc + 1, there)) return true;
    }
    scratch.current.swap(scratch.next);
    pos = next_pos;
    previous_is_word = is_word(c);
  }
}

}  // namespace aisle::schema
