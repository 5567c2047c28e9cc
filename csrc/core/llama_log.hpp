// llama.cpp's log, tamed: warnings and errors go to stderr, the rest is
// dropped (llama.cpp is chatty at INFO). A LogCapture collects the error
// lines llama.cpp prints on the current thread while it lives, so an
// exception can say *why* a model, a context or a grammar was refused.
#pragma once

#include <string>

namespace paddler {

// Installs the log callback and initializes the llama backend, once per process.
void init_llama_once();

class LogCapture {
  public:
    LogCapture();
    ~LogCapture();
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;

    // The captured error lines, trimmed; `fallback` when there were none.
    std::string text(const std::string& fallback) const;

  private:
    std::string captured_;
    std::string* previous_;
};

}  // namespace paddler
