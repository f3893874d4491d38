#include "trainer/corpus/corpus_builder.h"

#include <algorithm>
#include <filesystem>
#include <numeric>

#include <nlohmann/json.hpp>

#include "core/thread_pool.h"
#include "trainer/corpus/austen_source.h"
#include "trainer/corpus/file_io.h"
#include "trainer/corpus/package_cache.h"
#include "trainer/corpus/token_shards.h"
#include "trainer/corpus/tokenizer.h"
#include "trainer/corpus/web_source.h"

namespace sherry::corpus {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kManifestVersion = 1;
// Bump whenever cleaning, splitting or tokenizer settings change the output bytes: a corpus
// built by an older pipeline is then no longer "up to date".
constexpr int kPipelineVersion = 1;

void report(const BuildOptions& options, std::string_view line) {
  if (options.progress) options.progress(line);
}

uint64_t name_hash(const std::string& name) {
  return fnv1a64(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(name.data()), name.size()));
}

// The options that determine the output bytes; equal inputs mean an up-to-date corpus.
json manifest_inputs(const std::vector<SourceInfo>& sources, int vocab_size, double val_fraction) {
  json list = json::array();
  for (const auto& source : sources)
    list.push_back(
        {{"name", source.name}, {"package", source.package}, {"version", source.version}});
  return {{"pipeline", kPipelineVersion},
          {"sources", list},
          {"vocab_size", vocab_size},
          {"val_fraction", val_fraction}};
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
      {"austen", "r-cran-janeaustenr", ""},
      {"web", "sword-text-web", ""},
  };
  return sources;
}

Result<std::vector<bool>> split_documents(const std::vector<Document>& documents,
                                          double val_fraction) {
  if (!(val_fraction > 0 && val_fraction < 0.5))
    return make_error("validation fraction: expected a value in (0, 0.5), found {}", val_fraction);
  if (documents.size() < 2)
    return make_error("corpus: expected at least 2 documents to split by document, found {}",
                      documents.size());
  std::vector<uint64_t> characters(documents.size());
  uint64_t total = 0;
  for (size_t i = 0; i < documents.size(); ++i) total += characters[i] = documents[i].characters();
  std::vector<size_t> order(documents.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const uint64_t ha = name_hash(documents[a].name), hb = name_hash(documents[b].name);
    return ha != hb ? ha < hb : documents[a].name < documents[b].name;
  });
  const double budget = val_fraction * static_cast<double>(total);
  std::vector<bool> is_val(documents.size(), false);
  uint64_t val_characters = 0;
  size_t val_count = 0;
  for (size_t index : order) {
    if (static_cast<double>(val_characters + characters[index]) <= budget) {
      is_val[index] = true;
      val_characters += characters[index];
      ++val_count;
    }
  }
  if (val_count == 0) {  // every document is larger than the budget: take the smallest
    const size_t smallest = *std::min_element(order.begin(), order.end(), [&](size_t a, size_t b) {
      return characters[a] < characters[b];
    });
    is_val[smallest] = true;
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
  report(options, fmt::format("training the SentencePiece vocabulary ({} tokens) on {} paragraphs",
                              options.vocab_size, sentences.size()));
  auto model = train_tokenizer(sentences, TokenizerOptions{options.vocab_size, true});
  if (!model) return model.error();
  auto tokenizer = Tokenizer::from_serialized(*model, "trained tokenizer");
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
      {"inputs", manifest_inputs(sources, options.vocab_size, options.val_fraction)},
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
    if (found == known.end()) {
      std::string names;
      for (const auto& s : known) names += (names.empty() ? "" : ", ") + s.name;
      return make_error("source \"{}\": expected one of {}", name, names);
    }
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
      if (manifest.is_object() &&
          manifest.value("inputs", json()) ==
              manifest_inputs(sources, options.vocab_size, options.val_fraction)) {
        existing->up_to_date = true;
        return existing;
      }
    }
  }

  std::vector<Document> documents;
  for (size_t i = 0; i < sources.size(); ++i) {
    const SourceInfo& source = sources[i];
    auto read = source.name == "austen" ? read_austen(roots[i]) : read_web(roots[i]);
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
