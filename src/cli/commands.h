#pragma once

#include <string>
#include <vector>

namespace meshgate::cli {

// Exit status of every command (interfaces.md): 0 ok, 1 the request failed, 2 bad usage or config.
enum ExitStatus : int { exit_ok = 0, exit_failed = 1, exit_usage = 2 };

int run_plan(const std::vector<std::string>& words);
int run_check(const std::vector<std::string>& words);

}  // namespace meshgate::cli
