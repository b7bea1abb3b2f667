#pragma once

#include <string>
#include <sys/types.h>

namespace meshgate::control {

// A listening Unix stream socket at `path`, created without following anything already there:
// a stale socket of a dead process is replaced; a live one (something accepts on it), a
// symlink or any other file makes the constructor throw with a message saying which. The
// socket file gets `mode` and, when given, `group`. Closed and unlinked on destruction.
class UnixListener {
public:
    UnixListener(const std::string& path, mode_t mode, const std::string& group);
    ~UnixListener();
    UnixListener(const UnixListener&) = delete;
    UnixListener& operator=(const UnixListener&) = delete;

    int fd() const { return fd_; }
    const std::string& path() const { return path_; }

private:
    std::string path_;
    int fd_ = -1;
    ino_t inode_ = 0;  // what we created: never unlink someone else's file
};

}  // namespace meshgate::control
