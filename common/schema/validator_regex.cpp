// Pattern: syntax tree (validator_regex_parse.cpp) -> literal / sequence fast paths or a Pike VM
// program (run by validator_regex_vm.cpp).
#include "common/schema/validator_regex.hpp"

#include <algorithm>

#include "common/schema/validator_regex_ast.hpp"
#include "common/schema/validator_unicode.hpp"

namespace aisle::schema {
namespace {

using regex_detail::Ast;
using regex_detail::kInfinite;
using Op = Pattern::Op;

constexpr std::size_t kMaxProgramSize = 20000;    // instructions after expanding repetitions
constexpr std::size_t kMaxPatternLength = 65536;  // bytes

class Emitter {
 public:
  explicit Emitter(std::vector<Pattern::Inst>& program) : program_(program) {}
  bool overflow() const { return overflow_; }

  void emit(const Ast& node) {
    if (overflow_) return;
    switch (node.kind) {
      case Ast::Kind::kEmpty: return;
      case Ast::Kind::kChar: push({Op::kChar, node.ch, 0}); return;
      case Ast::Kind::kSet: push({Op::kSet, node.set, 0}); return;
      case Ast::Kind::kAssert: push({node.assertion, 0, 0}); return;
      case Ast::Kind::kConcat:
        for (const Ast& child : node.children) emit(child);
        return;
      case Ast::Kind::kAlt: emit_alternation(node); return;
      case Ast::Kind::kRepeat: emit_repeat(node); return;
    }
  }

 private:
  std::uint32_t here() const { return static_cast<std::uint32_t>(program_.size()); }
  std::uint32_t push(Pattern::Inst inst) {
    if (program_.size() >= kMaxProgramSize) {
      overflow_ = true;
      return 0;
    }
    program_.push_back(inst);
    return here() - 1;
  }

  void emit_alternation(const Ast& node) {
    std::vector<std::uint32_t> jumps;
    for (std::size_t i = 0; i < node.children.size() && !overflow_; ++i) {
      if (i + 1 == node.children.size()) {
        emit(node.children[i]);
        break;
      }
      const std::uint32_t split = push({Op::kSplit, here() + 1, 0});
      emit(node.children[i]);
      jumps.push_back(push({Op::kJmp, 0, 0}));
      if (!overflow_) program_[split].b = here();
    }
    if (overflow_) return;
    for (const std::uint32_t jump : jumps) program_[jump].a = here();
  }

  void emit_repeat(const Ast& node) {
    const Ast& child = node.children.front();
    for (std::uint32_t i = 0; i < node.min && !overflow_; ++i) emit(child);
    if (node.max == kInfinite) {
      const std::uint32_t loop = push({Op::kSplit, here() + 1, 0});
      emit(child);
      push({Op::kJmp, loop, 0});
      if (!overflow_) program_[loop].b = here();
      return;
    }
    std::vector<std::uint32_t> splits;
    for (std::uint32_t i = node.min; i < node.max && !overflow_; ++i) {
      splits.push_back(push({Op::kSplit, here() + 1, 0}));
      emit(child);
    }
    if (overflow_) return;
    for (const std::uint32_t split : splits) program_[split].b = here();
  }

  std::vector<Pattern::Inst>& program_;
  bool overflow_ = false;
};

// The literal fast paths: a pattern made only of code points, optionally between ^ and $.
bool as_literal(const Ast& root, bool& begin, bool& end, std::string& literal) {
  if (root.kind != Ast::Kind::kConcat) return false;
  begin = end = false;
  const auto& children = root.children;
  for (std::size_t i = 0; i < children.size(); ++i) {
    const Ast& child = children[i];
    if (child.kind == Ast::Kind::kChar) {
      regex_detail::append_utf8(literal, child.ch);
    } else if (child.kind == Ast::Kind::kAssert && child.assertion == Op::kBegin && i == 0) {
      begin = true;
    } else if (child.kind == Ast::Kind::kAssert && child.assertion == Op::kEnd &&
               i + 1 == children.size()) {
      end = true;
    } else {
      return false;
    }
  }
  return !end || begin;  // "abc$" alone goes through the VM
}

// True when the step can match a code point >= 128.
bool has_non_ascii(const Pattern::Step& step, const std::vector<Pattern::CharSet>& sets) {
  if (!step.has_set) return step.ch >= 128;
  const Pattern::CharSet& set = sets[step.set];
  if (set.negated || set.categories != 0) return true;
  return std::any_of(set.ranges.begin(), set.ranges.end(),
                     [](const auto& range) { return range.second >= 128; });
}

bool may_overlap(const Pattern::Step& a, const Pattern::Step& b,
                 const std::vector<Pattern::CharSet>& sets) {
  if ((a.ascii[0] & b.ascii[0]) || (a.ascii[1] & b.ascii[1])) return true;
  return has_non_ascii(a, sets) && has_non_ascii(b, sets);  // conservative
}

// Recognizes the kSequence shape (see validator_regex.hpp): ^, steps, optional $.
bool as_sequence(const Ast& root, const std::vector<Pattern::CharSet>& sets,
                 std::vector<Pattern::Step>& steps, bool& end) {
  if (root.kind != Ast::Kind::kConcat || root.children.empty()) return false;
  const auto& children = root.children;
  const Ast& first = children.front();
  if (first.kind != Ast::Kind::kAssert || first.assertion != Op::kBegin) return false;
  end = false;
  for (std::size_t i = 1; i < children.size(); ++i) {
    const Ast* atom = &children[i];
    Pattern::Step step;
    if (atom->kind == Ast::Kind::kAssert && atom->assertion == Op::kEnd &&
        i + 1 == children.size()) {
      end = true;
      break;
    }
    if (atom->kind == Ast::Kind::kRepeat) {
      step.min = atom->min;
      step.max = atom->max;
      atom = &atom->children.front();
    }
    if (atom->kind == Ast::Kind::kChar) {
      step.ch = atom->ch;
      if (atom->ch < 128) step.ascii[atom->ch >> 6] |= std::uint64_t{1} << (atom->ch & 63);
    } else if (atom->kind == Ast::Kind::kSet) {
      step.has_set = true;
      step.set = atom->set;
      step.ascii[0] = sets[atom->set].ascii[0];
      step.ascii[1] = sets[atom->set].ascii[1];
    } else {
      return false;
    }
    steps.push_back(step);
  }
  // Greedy is exact only if a variable step never takes a character the next steps (up to the
  // first mandatory one) could need.
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].min == steps[i].max) continue;
    for (std::size_t j = i + 1; j < steps.size(); ++j) {
      if (may_overlap(steps[i], steps[j], sets)) return false;
      if (steps[j].min > 0) break;
    }
  }
  return true;
}

// True when every path through the tree starts with ^ (only position 0 can match).
bool starts_anchored(const Ast& node) {
  switch (node.kind) {
    case Ast::Kind::kAssert: return node.assertion == Op::kBegin;
    case Ast::Kind::kConcat:
      return !node.children.empty() && starts_anchored(node.children.front());
    case Ast::Kind::kAlt:
      return std::all_of(node.children.begin(), node.children.end(),
                         [](const Ast& child) { return starts_anchored(child); });
    default: return false;
  }
}

}  // namespace

bool Pattern::CharSet::contains(char32_t code_point) const {
  if (code_point < 128) return (ascii[code_point >> 6] >> (code_point & 63)) & 1;
  bool in = categories != 0 &&
            ((categories >> static_cast<unsigned>(unicode::general_category(code_point))) & 1);
  for (std::size_t i = 0; !in && i < ranges.size(); ++i) {
    in = code_point >= ranges[i].first && code_point <= ranges[i].second;
  }
  return in != negated;
}

void Pattern::CharSet::finish() {
  std::sort(ranges.begin(), ranges.end());
  ascii[0] = ascii[1] = 0;
  for (char32_t c = 0; c < 128; ++c) {
    bool in = categories != 0 &&
              ((categories >> static_cast<unsigned>(unicode::general_category(c))) & 1);
    for (const auto& [first, last] : ranges) in = in || (c >= first && c <= last);
    if (in != negated) ascii[c >> 6] |= std::uint64_t{1} << (c & 63);
  }
}

Result<Pattern> Pattern::compile(std::string_view source) {
  if (source.size() > kMaxPatternLength) {
    return make_error(ErrorCode::kInvalidArgument, "pattern longer than 65536 bytes");
  }
  Pattern pattern;
  pattern.source_ = std::string(source);
  Ast root;
  std::string error;
  if (!regex_detail::parse_pattern(source, pattern.sets_, root, error)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "invalid pattern '" + pattern.source_ + "': " + error);
  }
  bool begin = false;
  bool end = false;
  if (as_literal(root, begin, end, pattern.literal_)) {
    pattern.mode_ = begin ? (end ? Mode::kEquals : Mode::kStartsWith) : Mode::kContains;
    pattern.sets_.clear();
    return pattern;
  }
  if (as_sequence(root, pattern.sets_, pattern.steps_, pattern.sequence_end_)) {
    pattern.mode_ = Mode::kSequence;
    return pattern;
  }
  pattern.steps_.clear();
  Emitter emitter(pattern.program_);
  emitter.emit(root);
  pattern.program_.push_back({Op::kMatch, 0, 0});
  if (emitter.overflow()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "pattern '" + pattern.source_ + "' is too complex (more than " +
                          std::to_string(kMaxProgramSize) + " states)");
  }
  pattern.anchored_ = starts_anchored(root);
  for (const Inst& inst : pattern.program_) {
    if (inst.op == Op::kWordBoundary || inst.op == Op::kNotWordBoundary) {
      pattern.word_checks_ = true;
    }
  }
  return pattern;
}

}  // namespace aisle::schema
