// Incremental UTF-8 decoding for streamed generation. A token's bytes can end in the
// middle of a character (byte-level BPE splits emoji and CJK across tokens), so the
// stream holds back an incomplete tail and emits only complete, valid text. Ill-formed
// bytes become U+FFFD once they can no longer start a valid character, one U+FFFD per
// maximal subpart (Unicode 15, section 3.9, "U+FFFD substitution of maximal subparts",
// which is also what Python's bytes.decode(errors="replace") and the WHATWG decoder do).
#pragma once
#include <string>
#include <string_view>

#include "engine/core/status.h"

namespace lw {

class Utf8Stream {
 public:
  // Appends `bytes` and returns the text that is now complete: every character whose
  // bytes have all arrived, and U+FFFD for bytes that cannot become valid. At most
  // three bytes (a valid prefix of one character) stay held back.
  std::string push(std::string_view bytes);
  // End of stream: a held-back incomplete character becomes one U+FFFD.
  std::string finish();
  // Bytes waiting for the rest of their character.
  std::string_view pending() const { return pending_; }
  void reset() { pending_.clear(); }

 private:
  std::string pending_;
};

// The text with each maximal ill-formed subpart replaced by U+FFFD (as a whole, not
// streamed: an incomplete character at the end is replaced too).
std::string sanitize_utf8(std::string_view bytes);

// Ok when `text` is valid UTF-8; otherwise InvalidArgument naming `what` (a file name
// or a field), the line, the byte offset and the offending byte, e.g.
// "prompt.txt: invalid UTF-8 at line 3 (byte offset 41): byte 0xff".
Status check_utf8(std::string_view text, std::string_view what);

}  // namespace lw
