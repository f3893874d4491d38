// sherry-data: the offline training corpus.
//   sherry-data build --out DIR [--vocab-size N] [--sources austen,web,...] [--val-fraction F]
//                     [--tokenizer MODEL]
//   sherry-data stats DIR
//   sherry-data fetch [--sources austen,web,...] [--cache DIR]   (only the packages, e.g. tests)
// Progress goes to stderr, the summary to stdout. Errors: "error: <message>", exit status 1
// (2 for a bad command line).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "trainer/corpus/corpus_builder.h"
#include "trainer/corpus/package_cache.h"
#include "trainer/corpus/tokenizer.h"

namespace {

using sherry::corpus::CorpusSummary;
using sherry::corpus::SplitSummary;

void print_split(const char* name, const SplitSummary& split) {
  std::printf("  %-5s  %4zu documents  %10llu characters  %9llu tokens  (%.2f characters/token)\n",
              name, split.documents.size(), static_cast<unsigned long long>(split.characters),
              static_cast<unsigned long long>(split.tokens),
              split.tokens
                  ? static_cast<double>(split.characters) / static_cast<double>(split.tokens)
                  : 0.0);
}

void print_summary(const std::string& dir, const CorpusSummary& summary) {
  std::printf("corpus %s\n  sources:", dir.c_str());
  for (const auto& source : summary.sources)
    std::printf(" %s (%s %s)", source.name.c_str(), source.package.c_str(), source.version.c_str());
  std::printf("\n  vocabulary: %d tokens (SentencePiece BPE, byte fallback)\n", summary.vocab_size);
  print_split("train", summary.train);
  print_split("val", summary.val);
  std::printf("  validation documents:");
  for (const auto& name : summary.val.documents) std::printf(" %s", name.c_str());
  std::printf("\n");
}

std::vector<std::string> split_list(const std::string& list) {
  std::vector<std::string> items;
  for (size_t begin = 0; begin <= list.size();) {
    size_t end = list.find(',', begin);
    if (end == std::string::npos) end = list.size();
    if (end > begin) items.push_back(list.substr(begin, end - begin));
    begin = end + 1;
  }
  return items;
}

// `fetch`: the sources' packages into the cache (apt-get download + dpkg -x, once), one line each.
int fetch_packages(const std::vector<std::string>& sources, const std::string& cache_dir) {
  // Every name is checked before anything is downloaded.
  std::vector<std::string> packages;
  for (const std::string& source : sources) {
    const auto& known = sherry::corpus::known_sources();
    const auto info =
        std::find_if(known.begin(), known.end(), [&](const auto& s) { return s.name == source; });
    if (info == known.end()) {
      std::fprintf(stderr, "error: --sources: unknown source '%s' (expected %s)\n", source.c_str(),
                   sherry::corpus::known_source_names().c_str());
      return 1;
    }
    packages.push_back(info->package);
  }
  for (const std::string& name : packages) {
    auto package = sherry::corpus::ensure_package(cache_dir, name, /*fetch=*/true);
    if (!package) {
      std::fprintf(stderr, "error: %s\n", package.error().message().c_str());
      return 1;
    }
    std::printf("%s %s %s\n", package->name.c_str(), package->version.c_str(),
                package->deb_path.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sherry-data: builds the offline training corpus from Debian packages"};
  app.require_subcommand(1);

  sherry::corpus::BuildOptions options;
  std::string all_sources;
  for (const auto& source : sherry::corpus::known_sources())
    all_sources += (all_sources.empty() ? "" : ",") + source.name;
  std::string sources = all_sources;
  CLI::App* build = app.add_subcommand(
      "build", "fetch the packages, clean, split, train the tokenizer, write shards");
  build->add_option("--out", options.out_dir, "output directory")->required();
  build->add_option("--vocab-size", options.vocab_size, "SentencePiece vocabulary size")
      ->capture_default_str()
      ->check(CLI::Range(sherry::corpus::kMinVocabSize, 1 << 20));
  build
      ->add_option("--sources", sources,
                   "comma-separated, from: " + sherry::corpus::known_source_names())
      ->capture_default_str();
  build->add_option("--tokenizer", options.tokenizer_path,
                    "tokenize with this SentencePiece model instead of training one");
  build
      ->add_option("--val-fraction", options.val_fraction,
                   "share of characters held out, by document")
      ->capture_default_str();
  build->add_option("--cache", options.cache_dir, "package cache (.deb files and their extraction)")
      ->capture_default_str();
  build->add_flag("!--no-fetch", options.fetch, "never run apt-get download; use only the cache");
  build->add_flag("--force", options.force, "rebuild even when the outputs are up to date");
  build->add_option("--threads", options.threads, "tokenization threads (0: all cores)")
      ->capture_default_str();

  std::string stats_dir;
  CLI::App* stats =
      app.add_subcommand("stats", "validate a corpus directory and print its figures");
  stats->add_option("dir", stats_dir, "corpus directory")->required();

  std::string fetch_sources = all_sources;
  std::string fetch_cache(sherry::corpus::kDefaultCacheDir);
  CLI::App* fetch = app.add_subcommand(
      "fetch", "only fetch the sources' Debian packages into the cache (apt-get download)");
  fetch
      ->add_option("--sources", fetch_sources,
                   "comma-separated, from: " + sherry::corpus::known_source_names())
      ->capture_default_str();
  fetch->add_option("--cache", fetch_cache, "package cache")->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? 0 : 2;
  }

  if (*stats) {
    auto summary = sherry::corpus::read_corpus_summary(stats_dir);
    if (!summary) {
      std::fprintf(stderr, "error: %s\n", summary.error().message().c_str());
      return 1;
    }
    print_summary(stats_dir, *summary);
    return 0;
  }

  if (*fetch) return fetch_packages(split_list(fetch_sources), fetch_cache);

  options.sources = split_list(sources);
  const auto start = std::chrono::steady_clock::now();
  options.progress = [start](std::string_view line) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "[%6.1fs] %.*s\n", seconds, static_cast<int>(line.size()), line.data());
  };
  auto summary = sherry::corpus::build_corpus(options);
  if (!summary) {
    std::fprintf(stderr, "error: %s\n", summary.error().message().c_str());
    return 1;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  print_summary(options.out_dir, *summary);
  std::printf("  %s in %.1f s\n", summary->up_to_date ? "up to date, nothing rebuilt" : "built",
              seconds);
  return 0;
}
