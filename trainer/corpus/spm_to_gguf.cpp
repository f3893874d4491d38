#include "trainer/corpus/spm_to_gguf.h"

#include <sentencepiece_processor.h>

#include <string_view>

#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/llama_names.h"
#include "trainer/corpus/file_io.h"

namespace sherry::corpus {
namespace {

// A protobuf wire-format walker for the two things libsentencepiece does not expose: each
// piece's type (ModelProto.pieces = 1 { piece = 1, score = 2, type = 3 }) and the normalizer's
// add_dummy_prefix (ModelProto.normalizer_spec = 3 { add_dummy_prefix = 3 }).
class ProtoReader {
 public:
  explicit ProtoReader(std::string_view bytes) : bytes_(bytes) {}
  bool done() const { return at_ >= bytes_.size(); }

  // Next field: number, wire type, and for length-delimited fields the payload; varint/fixed
  // values in `value`. False on malformed input.
  bool next(uint32_t* field, uint32_t* wire, uint64_t* value, std::string_view* payload) {
    uint64_t key = 0;
    if (!varint(&key)) return false;
    *field = static_cast<uint32_t>(key >> 3);
    *wire = static_cast<uint32_t>(key & 7);
    switch (*wire) {
      case 0:
        return varint(value);
      case 1:
        return fixed(8, value);
      case 5:
        return fixed(4, value);
      case 2: {
        uint64_t length = 0;
        if (!varint(&length) || length > bytes_.size() - at_) return false;
        *payload = bytes_.substr(at_, length);
        at_ += length;
        return true;
      }
      default:
        return false;
    }
  }

 private:
  bool varint(uint64_t* value) {
    *value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (at_ >= bytes_.size()) return false;
      const uint8_t byte = static_cast<uint8_t>(bytes_[at_++]);
      *value |= static_cast<uint64_t>(byte & 0x7F) << shift;
      if (!(byte & 0x80)) return true;
    }
    return false;
  }
  bool fixed(size_t size, uint64_t* value) {
    if (bytes_.size() - at_ < size) return false;
    *value = 0;
    for (size_t i = 0; i < size; ++i)
      *value |= uint64_t{static_cast<uint8_t>(bytes_[at_ + i])} << (8 * i);
    at_ += size;
    return true;
  }
  std::string_view bytes_;
  size_t at_ = 0;
};

struct ProtoFacts {
  std::vector<int32_t> types;
  bool add_dummy_prefix = true;  // proto default
};

Result<ProtoFacts> read_proto_facts(std::string_view model, const std::string& name) {
  ProtoFacts facts;
  ProtoReader reader(model);
  uint32_t field = 0, wire = 0;
  uint64_t value = 0;
  std::string_view payload;
  while (!reader.done()) {
    if (!reader.next(&field, &wire, &value, &payload))
      return make_error(
          "{}: SentencePiece ModelProto: expected protobuf wire format, found malformed bytes",
          name);
    if (field == 1 && wire == 2) {
      int32_t type = 1;  // NORMAL
      ProtoReader piece(payload);
      uint32_t piece_field = 0, piece_wire = 0;
      uint64_t piece_value = 0;
      std::string_view ignored;
      while (!piece.done()) {
        if (!piece.next(&piece_field, &piece_wire, &piece_value, &ignored))
          return make_error(
              "{}: SentencePiece piece {}: expected protobuf wire format, found malformed bytes",
              name, facts.types.size());
        if (piece_field == 3 && piece_wire == 0) type = static_cast<int32_t>(piece_value);
      }
      facts.types.push_back(type);
    } else if (field == 3 && wire == 2) {
      ProtoReader normalizer(payload);
      uint32_t spec_field = 0, spec_wire = 0;
      uint64_t spec_value = 0;
      std::string_view ignored;
      while (!normalizer.done()) {
        if (!normalizer.next(&spec_field, &spec_wire, &spec_value, &ignored))
          return make_error(
              "{}: SentencePiece normalizer_spec: expected protobuf wire format, found malformed "
              "bytes",
              name);
        if (spec_field == 3 && spec_wire == 0) facts.add_dummy_prefix = spec_value != 0;
      }
    }
  }
  return facts;
}

}  // namespace

Result<GgufTokenizer> gguf_tokenizer_from_spm(const std::string& model, const std::string& name) {
  sentencepiece::SentencePieceProcessor processor;
  const auto status = processor.LoadFromSerializedProto(model);
  if (!status.ok())
    return make_error(
        "{}: SentencePiece model: expected a serialized ModelProto, found bytes it rejects: {}",
        name, status.ToString());
  auto facts = read_proto_facts(model, name);
  if (!facts) return facts.error();
  const int size = processor.GetPieceSize();
  if (static_cast<int>(facts->types.size()) != size)
    return make_error("{}: SentencePiece pieces: expected {} in the proto, found {}", name, size,
                      facts->types.size());
  GgufTokenizer out;
  out.add_space_prefix = facts->add_dummy_prefix;
  out.bos_id = processor.bos_id();
  out.eos_id = processor.eos_id();
  out.unknown_id = processor.unk_id();
  for (int id = 0; id < size; ++id) {
    const int32_t type = facts->types[id];
    // The proto's type must agree with the library's classification of the same piece.
    const bool consistent = (type == 2) == processor.IsUnknown(id) &&
                            (type == 3) == processor.IsControl(id) &&
                            (type == 5) == processor.IsUnused(id) &&
                            (type == 6) == processor.IsByte(id) && type >= 1 && type <= 6;
    if (!consistent)
      return make_error(
          "{}: SentencePiece piece {} \"{}\": expected a type that agrees with "
          "libsentencepiece (unknown {}, control {}, unused {}, byte {}), found {}",
          name, id, processor.IdToPiece(id), processor.IsUnknown(id), processor.IsControl(id),
          processor.IsUnused(id), processor.IsByte(id), type);
    out.tokens.push_back(processor.IdToPiece(id));
    out.scores.push_back(processor.GetScore(id));
    out.token_types.push_back(type);
  }
  return out;
}

Result<GgufTokenizer> gguf_tokenizer_from_spm_file(const std::string& path) {
  auto bytes = read_file_bytes(path);
  if (!bytes) return bytes.error();
  return gguf_tokenizer_from_spm(std::string(bytes->begin(), bytes->end()), path);
}

void add_gguf_tokenizer(const GgufTokenizer& tokenizer, gguf::Writer& writer) {
  namespace names = gguf::names;
  writer.set_string(std::string(names::kTokenizerModel), "llama");
  writer.set_string_array(std::string(names::kTokenizerTokens), tokenizer.tokens);
  writer.set_float32_array(std::string(names::kTokenizerScores), tokenizer.scores);
  writer.set_int32_array(std::string(names::kTokenizerTokenType), tokenizer.token_types);
  if (tokenizer.bos_id >= 0)
    writer.set_uint32(std::string(names::kTokenizerBosId), static_cast<uint32_t>(tokenizer.bos_id));
  if (tokenizer.eos_id >= 0)
    writer.set_uint32(std::string(names::kTokenizerEosId), static_cast<uint32_t>(tokenizer.eos_id));
  if (tokenizer.unknown_id >= 0)
    writer.set_uint32(std::string(names::kTokenizerUnknownId),
                      static_cast<uint32_t>(tokenizer.unknown_id));
  writer.set_bool(std::string(names::kTokenizerAddBos), true);
  writer.set_bool(std::string(names::kTokenizerAddEos), false);
  writer.set_bool(std::string(names::kTokenizerAddSpacePrefix), tokenizer.add_space_prefix);
}

}  // namespace sherry::corpus
