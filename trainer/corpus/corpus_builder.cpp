#include "trainer/corpus/corpus_builder.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <numeric>

#include <nlohmann/json.hpp>

#include "core/thread_pool.h"
#include "trainer/corpus/austen_source.h"
#include "trainer/corpus/file_io.h"
#include "trainer/corpus/jargon_source.h"
#include "trainer/corpus/package_cache.h"
#include "trainer/corpus/sword_source.h"
#include "trainer/corpus/token_shards.h"
#include "trainer/corpus/tokenizer.h"

namespace sherry::corpus {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kManifestVersion = 1;
// Bump whenever cleaning, splitting or tokenizer settings change the output bytes: a corpus
// built by an older pipeline is then no longer "up to date".
constexpr int kPipelineVersion = 2;

void report(const BuildOptions& options, std::string_view line) {
  if (options.progress) options.progress(line);
}

// The split's order of a name: FNV-1a 64, then SplitMix64's finalizer, so names that differ only
// in their last characters ("…/ch030", "…/ch031") spread over the whole order instead of
// clustering (FNV-1a alone moves little for a change in the last byte).
uint64_t name_hash(const std::string& name) {
  uint64_t z =
      fnv1a64(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(name.data()), name.size()));
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The options that determine the output bytes; equal inputs mean an up-to-date corpus.
// tokenizer_hash: FNV-1a 64 of a given tokenizer model, 0 when the build trains its own.
json manifest_inputs(const std::vector<SourceInfo>& sources, int vocab_size, double val_fraction,
                     uint64_t tokenizer_hash) {
  json list = json::array();
  for (const auto& source : sources)
    list.push_back(
        {{"name", source.name}, {"package", source.package}, {"version", source.version}});
  json inputs = {{"pipeline", kPipelineVersion},
                 {"sources", list},
                 {"vocab_size", vocab_size},
                 {"val_fraction", val_fraction}};
  if (tokenizer_hash != 0) inputs["tokenizer_fnv1a64"] = fmt::format("{:016x}", tokenizer_hash);
  return inputs;
}

json split_json(const SplitSummary& split) {
  return {
      {"documents", split.documents}, {"characters", split.characters}, {"tokens", split.tokens}};
}

Result<SplitSummary> split_from_json(const json& value, const std::string& where) {
  SplitSummary split;
  try {
    split.documents = value.at("documents").get<std::vector<std::string>>();
    split.characters = value.at("characters").get<uint64_t>();
    split.tokens = value.at("tokens").get<uint64_t>();
  } catch (const json::exception& error) {
    return make_error("{}: expected documents, characters and tokens, found: {}", where,
                      error.what());
  }
  return split;
}

}  // namespace

const std::vector<SourceInfo>& known_sources() {
  static const std::vector<SourceInfo> sources = {
      {"austen", "r-cran-janeaustenr", ""},    {"web", "sword-text-web", ""},
      {"kjv", "sword-text-kjv", ""},           {"mhcc", "sword-comm-mhcc", ""},
      {"scofield", "sword-comm-scofield", ""}, {"tdavid", "sword-comm-tdavid", ""},
      {"jargon", "dict-jargon", ""},
  };
  return sources;
}

std::string known_source_names() {
  std::string names;
  for (const auto& s : known_sources()) names += (names.empty() ? "" : ", ") + s.name;
  return names;
}

Result<std::vector<bool>> split_documents(const std::vector<Document>& documents,
                                          double val_fraction) {
  if (!(val_fraction > 0 && val_fraction < 0.5))
    return make_error("validation fraction: expected a value in (0, 0.5), found {}", val_fraction);
  if (documents.size() < 2)
    return make_error("corpus: expected at least 2 documents to split by document, found {}",
                      documents.size());
  struct Unit {
    std::string key;
    bool scripture = false;
    uint64_t characters = 0;
    std::vector<size_t> members;
  };
  std::vector<Unit> units;
  std::map<std::string, size_t> unit_of_key;
  for (size_t i = 0; i < documents.size(); ++i) {
    const Document& d = documents[i];
    const std::string key = d.book.empty() ? d.name : "bible/" + d.book;
    auto [it, fresh] = unit_of_key.emplace(key, units.size());
    if (fresh) units.push_back(Unit{key, !d.book.empty(), 0, {}});
    Unit& unit = units[it->second];
    unit.characters += d.characters();
    unit.members.push_back(i);
  }
  std::vector<bool> is_val(documents.size(), false);
  for (const bool scripture : {false, true}) {
    std::vector<size_t> pool;
    uint64_t total = 0;
    for (size_t u = 0; u < units.size(); ++u)
      if (units[u].scripture == scripture) pool.push_back(u), total += units[u].characters;
    if (pool.size() < 2) continue;  // a pool of one unit stays in training
    std::sort(pool.begin(), pool.end(), [&](size_t a, size_t b) {
      const uint64_t ha = name_hash(units[a].key), hb = name_hash(units[b].key);
      return ha != hb ? ha < hb : units[a].key < units[b].key;
    });
    const double budget = val_fraction * static_cast<double>(total);
    uint64_t val_characters = 0;
    size_t chosen = 0;
    auto take = [&](size_t u) {
      for (size_t member : units[u].members) is_val[member] = true;
      val_characters += units[u].characters;
      ++chosen;
    };
    for (size_t u : pool)
      if (static_cast<double>(val_characters + units[u].characters) <= budget) take(u);
    if (chosen == 0)  // every unit is larger than the budget: the smallest one goes
      take(*std::min_element(pool.begin(), pool.end(), [&](size_t a, size_t b) {
        return units[a].characters < units[b].characters;
      }));
  }
  if (std::none_of(is_val.begin(), is_val.end(), [](bool v) { return v; })) {
    // One unit per pool (e.g. two documents, one of each kind): the smaller document goes.
    const auto smallest = std::min_element(
        documents.begin(), documents.end(),
        [](const Document& a, const Document& b) { return a.characters() < b.characters(); });
    is_val[smallest - documents.begin()] = true;
  }
  return is_val;
}

Result<CorpusSummary> write_corpus(const std::vector<Document>& documents,
                                   const std::vector<SourceInfo>& sources,
                                   const BuildOptions& options) {
  auto is_val = split_documents(documents, options.val_fraction);
  if (!is_val) return is_val.error();
  std::vector<const Document*> train, val;
  for (size_t i = 0; i < documents.size(); ++i)
    ((*is_val)[i] ? val : train).push_back(&documents[i]);

  std::vector<std::string> sentences;
  for (const Document* document : train)
    sentences.insert(sentences.end(), document->paragraphs.begin(), document->paragraphs.end());
  Result<std::string> model = std::string();
  uint64_t tokenizer_hash = 0;
  if (!options.tokenizer_path.empty()) {
    report(options, fmt::format("tokenizing with the given model {}", options.tokenizer_path));
    auto bytes = read_file_bytes(options.tokenizer_path);
    if (!bytes) return bytes.error();
    model = std::string(bytes->begin(), bytes->end());
    tokenizer_hash = fnv1a64(*bytes);
  } else {
    report(options,
           fmt::format("training the SentencePiece vocabulary ({} tokens) on {} paragraphs",
                       options.vocab_size, sentences.size()));
    model = train_tokenizer(sentences, TokenizerOptions{options.vocab_size, true});
  }
  if (!model) return model.error();
  auto tokenizer = Tokenizer::from_serialized(
      *model, options.tokenizer_path.empty() ? "trained tokenizer" : options.tokenizer_path);
  if (!tokenizer) return tokenizer.error();

  CorpusSummary summary;
  summary.sources = sources;
  summary.vocab_size = tokenizer->vocab_size();
  summary.val_fraction = options.val_fraction;
  ThreadPool pool(options.threads);
  auto encode_split = [&](const std::vector<const Document*>& split, SplitSummary* figures) {
    std::vector<std::vector<uint32_t>> encoded(split.size());
    pool.parallel_for(static_cast<int64_t>(split.size()), 1, [&](int64_t begin, int64_t end, int) {
      for (int64_t i = begin; i < end; ++i) encoded[i] = tokenizer->encode_document(*split[i]);
    });
    TokenShard shard;
    shard.vocab_size = static_cast<uint32_t>(summary.vocab_size);
    for (size_t i = 0; i < split.size(); ++i) {
      shard.add_document(encoded[i]);
      figures->documents.push_back(split[i]->name);
      figures->characters += split[i]->characters();
    }
    figures->tokens = shard.tokens.size();
    return shard;
  };
  report(options, fmt::format("tokenizing {} training and {} validation documents", train.size(),
                              val.size()));
  const TokenShard train_shard = encode_split(train, &summary.train);
  const TokenShard val_shard = encode_split(val, &summary.val);

  std::error_code error;
  fs::create_directories(options.out_dir, error);
  if (error)
    return make_error("{}: cannot create the corpus directory: {}", options.out_dir,
                      error.message());
  // The manifest goes last: its presence marks a complete corpus.
  fs::remove(fs::path(options.out_dir) / kManifestFileName, error);
  SHERRY_TRY(write_text_atomic(tokenizer_path(options.out_dir), *model));
  SHERRY_TRY(write_token_shard(shard_path(options.out_dir, Split::kTrain), train_shard));
  SHERRY_TRY(write_token_shard(shard_path(options.out_dir, Split::kVal), val_shard));
  json manifest = {
      {"format", "sherry-corpus"},
      {"version", kManifestVersion},
      {"inputs",
       manifest_inputs(sources, options.vocab_size, options.val_fraction, tokenizer_hash)},
      {"vocab_size", summary.vocab_size},
      {"tokenizer", std::string(kTokenizerFileName)},
      {"train", split_json(summary.train)},
      {"val", split_json(summary.val)},
  };
  SHERRY_TRY(write_text_atomic((fs::path(options.out_dir) / kManifestFileName).string(),
                               manifest.dump(2) + "\n"));
  return summary;
}

Result<CorpusSummary> read_corpus_summary(const std::string& dir) {
  const std::string manifest_path = (fs::path(dir) / kManifestFileName).string();
  auto bytes = read_file_bytes(manifest_path);
  if (!bytes)
    return bytes.error().with_context("corpus directory " + dir + " (run sherry-data build)");
  json manifest;
  try {
    manifest = json::parse(bytes->begin(), bytes->end());
  } catch (const json::exception& error) {
    return make_error("{}: expected JSON, found a parse error: {}", manifest_path, error.what());
  }
  if (!manifest.is_object() || manifest.value("format", "") != "sherry-corpus" ||
      manifest.value("version", 0) != kManifestVersion)
    return make_error("{}: expected format \"sherry-corpus\" version {}, found {}", manifest_path,
                      kManifestVersion,
                      manifest.is_object()
                          ? manifest.value("format", std::string("?")) + " version " +
                                std::to_string(manifest.value("version", 0))
                          : "not an object");
  CorpusSummary summary;
  try {
    const json& inputs = manifest.at("inputs");
    summary.vocab_size = manifest.at("vocab_size").get<int>();
    summary.val_fraction = inputs.at("val_fraction").get<double>();
    for (const auto& source : inputs.at("sources"))
      summary.sources.push_back({source.at("name").get<std::string>(),
                                 source.at("package").get<std::string>(),
                                 source.at("version").get<std::string>()});
  } catch (const json::exception& error) {
    return make_error("{}: expected inputs, vocab_size and sources, found: {}", manifest_path,
                      error.what());
  }
  auto train = split_from_json(manifest.value("train", json()), manifest_path + ": train");
  if (!train) return train.error();
  auto val = split_from_json(manifest.value("val", json()), manifest_path + ": val");
  if (!val) return val.error();
  summary.train = std::move(*train);
  summary.val = std::move(*val);

  auto tokenizer = Tokenizer::load(tokenizer_path(dir));
  if (!tokenizer) return tokenizer.error();
  if (tokenizer->vocab_size() != summary.vocab_size)
    return make_error("{}: vocabulary size: expected {} (manifest), found {}", tokenizer_path(dir),
                      summary.vocab_size, tokenizer->vocab_size());
  for (Split split : {Split::kTrain, Split::kVal}) {
    const std::string path = shard_path(dir, split);
    auto shard = read_token_shard(path);
    if (!shard) return shard.error();
    const SplitSummary& figures = split == Split::kTrain ? summary.train : summary.val;
    if (shard->vocab_size != static_cast<uint32_t>(summary.vocab_size))
      return make_error("{}: vocab_size: expected {} (manifest), found {}", path,
                        summary.vocab_size, shard->vocab_size);
    if (shard->document_count() != figures.documents.size() ||
        shard->tokens.size() != figures.tokens)
      return make_error("{}: expected {} documents and {} tokens (manifest), found {} and {}", path,
                        figures.documents.size(), figures.tokens, shard->document_count(),
                        shard->tokens.size());
  }
  return summary;
}

Result<CorpusSummary> build_corpus(const BuildOptions& options) {
  if (options.sources.empty()) return make_error("sources: expected at least one, found none");
  // Option errors first, before minutes of fetching and reading.
  if (!(options.val_fraction > 0 && options.val_fraction < 0.5))
    return make_error("validation fraction: expected a value in (0, 0.5), found {}",
                      options.val_fraction);
  if (options.vocab_size < kMinVocabSize)
    return make_error(
        "vocab size: expected at least {} (3 control + 256 byte tokens + 1), found {}",
        kMinVocabSize, options.vocab_size);
  std::vector<SourceInfo> sources;
  for (const std::string& name : options.sources) {
    const auto& known = known_sources();
    auto found = std::find_if(known.begin(), known.end(),
                              [&](const SourceInfo& s) { return s.name == name; });
    if (found == known.end())
      return make_error("source \"{}\": expected one of {}", name, known_source_names());
    if (std::any_of(sources.begin(), sources.end(),
                    [&](const SourceInfo& s) { return s.name == name; }))
      return make_error("source \"{}\": expected each source once, found it twice", name);
    sources.push_back(*found);
  }
  std::vector<std::string> roots;  // extracted package trees, one per source
  for (SourceInfo& source : sources) {
    report(options, fmt::format("package {} ({})", source.package,
                                options.fetch ? "fetching if not cached" : "from the cache"));
    auto package = ensure_package(options.cache_dir, source.package, options.fetch);
    if (!package) return package.error();
    source.version = package->version;
    roots.push_back(package->root);
  }

  // Up to date: the same inputs and a corpus that validates.
  const std::string manifest_path = (fs::path(options.out_dir) / kManifestFileName).string();
  if (!options.force && fs::exists(manifest_path)) {
    auto existing = read_corpus_summary(options.out_dir);
    auto bytes = read_file_bytes(manifest_path);
    if (existing && bytes) {
      const json manifest = json::parse(bytes->begin(), bytes->end(), nullptr, false);
      uint64_t tokenizer_hash = 0;
      if (!options.tokenizer_path.empty()) {
        auto given = read_file_bytes(options.tokenizer_path);
        if (!given) return given.error();
        tokenizer_hash = fnv1a64(*given);
      }
      if (manifest.is_object() &&
          manifest.value("inputs", json()) ==
              manifest_inputs(sources, options.vocab_size, options.val_fraction, tokenizer_hash)) {
        existing->up_to_date = true;
        return existing;
      }
    }
  }

  std::vector<Document> documents;
  for (size_t i = 0; i < sources.size(); ++i) {
    const SourceInfo& source = sources[i];
    Result<std::vector<Document>> read = std::vector<Document>();
    if (source.name == "austen") {
      read = read_austen(roots[i]);
    } else if (source.name == "jargon") {
      read = read_jargon(roots[i]);
    } else {
      const SwordModuleInfo* module = find_sword_module(source.name);
      SHERRY_CHECK(module != nullptr, "no reader for source {}", source.name);
      read = read_sword_source(roots[i], *module);
    }
    if (!read) return read.error();
    uint64_t characters = 0;
    for (const auto& document : *read) characters += document.characters();
    report(options,
           fmt::format("{}: {} documents, {} characters", source.name, read->size(), characters));
    for (auto& document : *read) documents.push_back(std::move(document));
  }
  return write_corpus(documents, sources, options);
}

}  // namespace sherry::corpus
